// The authorization the inbound listener enforces: the Authorization of the
// latest applied snapshot, compiled once per snapshot (never per request), and
// one call per request or opaque connection that evaluates it, counts the
// decision and logs what must be logged.
//
// Three regimes, chosen by what the latest snapshot said:
//   - no snapshot yet: everything is refused (policy "default:no-policy-yet").
//     The proxy cannot know the workload's default before the control plane
//     says it, and a restrictive default must not be preceded by a window of
//     "any mesh caller". It costs nothing in practice: until its first
//     snapshot the proxy is not ready, so its pod is in no Service's
//     endpoints, and a native sidecar holds the app's start until then;
//   - a snapshot without an authorization field (a control plane that
//     predates it): "legacy", InboundPolicy.mode and allowed_identities
//     decide at connection level, as before (the listener keeps that logic);
//   - an authorization field: "policies", evaluated per request (HTTP/1.x,
//     HTTP/2, gRPC) and per connection (opaque TCP) by lib/authz/evaluate.ts.
// A new snapshot takes effect on the next request, on existing connections
// too; nothing here closes a connection because the policy changed, so an
// opaque connection admitted under the old policy runs on until it ends.
import type { InboundPolicy__Output } from "../../../api/gen/weft/discovery/v1/InboundPolicy.ts";
import type { AuthzDecision, AuthzHttp } from "../../../lib/authz/decision.ts";
import { acceptsPlaintext, type CompiledAuthorization } from "../../../lib/authz/evaluate.ts";
import { evaluateRequest } from "../../../lib/authz/evaluate-request.ts";
import type { Clock } from "../../../lib/clock.ts";
import type { Logger } from "../../../lib/log.ts";
import type { ProxyMetrics } from "../admin/metrics.ts";
import { compileOnce } from "./compile.ts";
import { DecisionLog } from "./decision-log.ts";

export interface InboundAuthzOptions {
  metrics: ProxyMetrics;
  logger: Logger;
  clock: Clock;
  /** Log lines per policy (and per kind of line) per window; default 5 per 10 s. */
  logLimit?: { lines: number; windowMs: number };
}

/** Why a request or connection is refused: the policy the caller is told about, and nothing else. */
export interface AuthzRefusal {
  policy: string;
}

/** What the decision is about, for the counters and the log: port and caller always, HTTP attributes for a request. */
export interface AuthzTarget {
  port: number;
  peer: string | null;
  http?: AuthzHttp;
}

/** Distinct policy label values; past it, new names are counted as "other" (names come from the control plane). */
const MAX_POLICY_LABELS = 256;
const OVERFLOW_LABEL = "other";
/** What a refusal before the first snapshot names: no policy is known yet. */
const NO_POLICY_YET = "default:no-policy-yet";

type Counted = "allow" | "deny" | "audit" | "dry-run-deny";

export class InboundAuthz {
  readonly #o: InboundAuthzOptions;
  readonly #log: DecisionLog;
  #current: CompiledAuthorization | undefined;
  /** True until the first snapshot is applied. */
  #pending = true;
  readonly #labels = new Set<string>();
  readonly #series = new Map<string, { inc(): void }>();
  /** Decision objects (shared by the evaluator) to their counters; a WeakMap, so a replaced policy set's go with it. */
  readonly #byDecision = new WeakMap<AuthzDecision, { inc(): void }>();
  /** The last decision counted and its counter: most requests repeat it, so most counts skip the WeakMap. */
  #lastDecision: AuthzDecision | null = null;
  #lastSeries: { inc(): void } | null = null;

  constructor(options: InboundAuthzOptions) {
    this.#o = options;
    const limit = options.logLimit ?? { lines: 5, windowMs: 10_000 };
    this.#log = new DecisionLog({
      logger: options.logger.child({ component: "authz" }),
      clock: options.clock,
      linesPerWindow: limit.lines,
      windowMs: limit.windowMs,
      onSuppressed: (policy) => options.metrics.authzLogsSuppressed.inc({ policy }),
    });
  }

  /**
   * Makes `inbound` (the latest applied snapshot's) the policy in force. One
   * that does not compile can only come from a path that skipped validation
   * (validateInboundAuthorization, which the discovery client and static mode
   * run first): the last good set stays, and it is logged.
   */
  apply(inbound: InboundPolicy__Output | null | undefined): void {
    const compiled = compileOnce(inbound?.authorization ?? null);
    if (!compiled.ok) {
      this.#o.logger.error({ code: compiled.code, reason: compiled.message }, "authorization does not compile; keeping the last good set");
      return;
    }
    this.#current = compiled.value ?? undefined;
    this.#pending = false;
  }

  /** True when the snapshot carried an authorization: requests are evaluated, and allowed_identities no longer applies. */
  get active(): boolean {
    return this.#pending || this.#current !== undefined;
  }

  /** Whether a plaintext connection to `port` is taken at all (then each request or the connection is evaluated with no peer). */
  plaintextAccepted(port: number): boolean {
    const compiled = this.#current;
    if (!compiled) return false;
    try {
      return acceptsPlaintext(compiled, port);
    } catch {
      return false;
    }
  }

  /** Decides one request (with `http`) or one opaque connection; null lets it through. Only while `active`. */
  authorize(target: AuthzTarget): AuthzRefusal | null {
    if (this.#pending) {
      this.#count("deny", NO_POLICY_YET, "default");
      this.#write("deny", NO_POLICY_YET, target);
      return { policy: NO_POLICY_YET };
    }
    const compiled = this.#current;
    if (!compiled) return null;
    let decision: AuthzDecision;
    try {
      // Both readings of the path (lib/authz/path-normalize.ts): no spelling of a path slips past a policy.
      // The target is already an AuthzRequest (evaluation keeps no reference to it): no copy per request.
      decision = evaluateRequest(compiled, target);
    } catch (err) {
      // A fault in evaluation must not open the door: refuse, and say so once per window.
      decision = { allowed: false, kind: "default", policy: "evaluation-error", audited: [], dryRunRefusal: null };
      this.#o.logger.error({ err: err instanceof Error ? err.message : String(err) }, "authorization evaluation failed; refusing");
    }
    const kind = decision.kind;
    this.#countDecision(decision);
    for (const audited of decision.audited) {
      this.#count("audit", audited, kind);
      this.#write("audit", audited, target);
    }
    if (decision.dryRunRefusal !== null) {
      this.#count("dry-run-deny", decision.dryRunRefusal, kind);
      this.#write("dry-run-deny", decision.dryRunRefusal, target);
    }
    if (decision.allowed) return null;
    this.#write("deny", decision.policy, target);
    return { policy: decision.policy };
  }

  /**
   * The evaluator hands out shared, frozen decision objects, so the counter of the common case is
   * found by the object itself: no key string is built per request.
   */
  #countDecision(decision: AuthzDecision): void {
    if (decision === this.#lastDecision && this.#lastSeries !== null) {
      this.#lastSeries.inc();
      return;
    }
    let series = this.#byDecision.get(decision);
    if (!series) {
      series = this.#seriesFor(decision.allowed ? "allow" : "deny", decision.policy, decision.kind);
      this.#byDecision.set(decision, series);
    }
    this.#lastDecision = decision;
    this.#lastSeries = series;
    series.inc();
  }

  #count(decision: Counted, policy: string, kind: string): void {
    this.#seriesFor(decision, policy, kind).inc();
  }

  #seriesFor(decision: Counted, policy: string, kind: string): { inc(): void } {
    const label = this.#label(policy);
    const key = `${decision}\u0000${label}\u0000${kind}`;
    let series = this.#series.get(key);
    if (!series) {
      // prom-client hashes the label object on each inc(); the child is kept instead (bounded by the label cap).
      series = this.#o.metrics.authz.labels(decision, label, kind);
      this.#series.set(key, series);
    }
    return series;
  }

  #label(policy: string): string {
    if (this.#labels.has(policy)) return policy;
    if (this.#labels.size >= MAX_POLICY_LABELS) return OVERFLOW_LABEL;
    this.#labels.add(policy);
    return policy;
  }

  #write(decision: "deny" | "audit" | "dry-run-deny", policy: string, t: AuthzTarget): void {
    const fields: Record<string, unknown> = { peer: t.peer, port: t.port };
    if (t.http) {
      fields.method = t.http.method;
      fields.authority = t.http.host;
      if (t.http.grpc) fields.grpcMethod = t.http.path;
      else fields.path = t.http.path;
    } else {
      fields.transport = "tcp";
    }
    this.#log.write(decision, policy, this.#label(policy), fields);
  }
}
