// The effective client policy for a call: the Service's policy, else the
// proxy-wide defaults from the snapshot, else built-in defaults. Proto3 zero
// values mean "unset", so each field falls back on its own; the stream
// timeouts are `optional` on the wire, so there 0 means "off" and only an
// absent field falls back.
import { CLIENT_POLICY_DEFAULTS } from "../../../lib/client-policy-defaults.ts";
import type { ClientPolicy__Output } from "../../../api/gen/weft/discovery/v1/ClientPolicy.ts";

export interface EffectiveRetry {
  enabled: boolean;
  maxRetries: number;
  retryOnHttpStatus: ReadonlySet<number>;
  retryOnGrpcStatus: ReadonlySet<number>;
  budgetRatio: number;
  budgetMinPerSecond: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  maxBufferedBodyBytes: number;
}

export interface EffectivePolicy {
  retry: EffectiveRetry;
  /** From the request fully sent until the response head arrives, across retries; 0 = off. */
  responseTimeoutMs: number;
  /** No byte in either direction for this long ends the request; 0 = off. */
  idleTimeoutMs: number;
  /** The whole exchange, body included; 0 = off. */
  totalTimeoutMs: number;
  connectTimeoutMs: number;
}

export const GRPC_STATUS_CODES: Readonly<Record<string, number>> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

/** For a proxy that has no client defaults from the control plane: the same values the control plane would send. */
export const DEFAULT_POLICY: EffectivePolicy = {
  ...CLIENT_POLICY_DEFAULTS,
  retry: {
    ...CLIENT_POLICY_DEFAULTS.retry,
    retryOnHttpStatus: new Set(CLIENT_POLICY_DEFAULTS.retry.retryOnHttpStatus),
    retryOnGrpcStatus: new Set(CLIENT_POLICY_DEFAULTS.retry.retryOnGrpcStatus.map((name) => GRPC_STATUS_CODES[name] ?? -1)),
  },
};

function layer(base: EffectivePolicy, policy: ClientPolicy__Output | null | undefined): EffectivePolicy {
  if (!policy) return base;
  const r = policy.retry;
  const retry: EffectiveRetry = r
    ? {
        enabled: r.enabled,
        maxRetries: r.maxRetries || base.retry.maxRetries,
        retryOnHttpStatus: r.retryOnHttpStatus.length > 0 ? new Set(r.retryOnHttpStatus) : base.retry.retryOnHttpStatus,
        retryOnGrpcStatus:
          r.retryOnGrpcStatus.length > 0
            ? new Set(r.retryOnGrpcStatus.map((name) => GRPC_STATUS_CODES[name.toUpperCase()]).filter((c): c is number => c !== undefined))
            : base.retry.retryOnGrpcStatus,
        budgetRatio: r.budgetRatio || base.retry.budgetRatio,
        budgetMinPerSecond: r.budgetMinPerSecond || base.retry.budgetMinPerSecond,
        backoffBaseMs: r.backoffBaseMs || base.retry.backoffBaseMs,
        backoffMaxMs: r.backoffMaxMs || base.retry.backoffMaxMs,
        maxBufferedBodyBytes: r.maxBufferedBodyBytes || base.retry.maxBufferedBodyBytes,
      }
    : base.retry;
  return {
    retry,
    // request_timeout_ms is the response timeout's deprecated name, where 0 still means unset.
    responseTimeoutMs: policy.responseTimeoutMs ?? (policy.requestTimeoutMs || base.responseTimeoutMs),
    idleTimeoutMs: policy.idleTimeoutMs ?? base.idleTimeoutMs,
    totalTimeoutMs: policy.totalTimeoutMs ?? base.totalTimeoutMs,
    connectTimeoutMs: policy.connectTimeoutMs || base.connectTimeoutMs,
  };
}

export function effectivePolicy(defaults: ClientPolicy__Output | null | undefined, service: ClientPolicy__Output | null | undefined): EffectivePolicy {
  return layer(layer(DEFAULT_POLICY, defaults), service);
}
