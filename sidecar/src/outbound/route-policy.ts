// A route's timeouts and retry laid over the backend Service's effective
// client policy (docs/protocols.md, "Route timeouts"): timeouts.request is the
// whole exchange (Weft's total timeout) and replaces the response and total
// timeouts; the rule's retry replaces the Service's attempts, statuses and
// backoff (its budget still applies). Built once per (rule, policy) pair and
// kept weakly by both, so a routed request allocates no policy.
import type { EffectivePolicy, EffectiveRetry } from "../discovery/client-policy.ts";
import type { CompiledRule } from "../routing/route-table.ts";

const cache = new WeakMap<CompiledRule, WeakMap<EffectivePolicy, EffectivePolicy>>();

export function routePolicy(base: EffectivePolicy, rule: CompiledRule): EffectivePolicy {
  if (rule.requestTimeoutMs === undefined && !rule.retry) return base;
  let perRule = cache.get(rule);
  if (!perRule) {
    perRule = new WeakMap();
    cache.set(rule, perRule);
  }
  let policy = perRule.get(base);
  if (!policy) {
    policy = overlay(base, rule);
    perRule.set(base, policy);
  }
  return policy;
}

function overlay(base: EffectivePolicy, rule: CompiledRule): EffectivePolicy {
  let retry: EffectiveRetry = base.retry;
  const r = rule.retry;
  if (r) {
    retry = {
      ...base.retry,
      // Gateway API's attempts counts the retries (0: none).
      enabled: r.attempts > 0,
      maxRetries: r.attempts,
      retryOnHttpStatus: r.codes.length > 0 ? new Set(r.codes) : base.retry.retryOnHttpStatus,
      // The route's backoff is the base of the jittered exponential backoff; the ceiling is at least it.
      backoffBaseMs: r.backoffMs || base.retry.backoffBaseMs,
      backoffMaxMs: Math.max(base.retry.backoffMaxMs, r.backoffMs),
    };
  }
  const request = rule.requestTimeoutMs;
  return {
    ...base,
    retry,
    responseTimeoutMs: request === undefined ? base.responseTimeoutMs : 0,
    totalTimeoutMs: request === undefined ? base.totalTimeoutMs : request,
  };
}
