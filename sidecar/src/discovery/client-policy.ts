// The effective client policy for a call: the Service's policy, else the
// proxy-wide defaults from the snapshot, else built-in defaults. Proto3 zero
// values mean "unset", so each field falls back on its own; the stream
// timeouts are `optional` on the wire, so there 0 means "off" and only an
// absent field falls back.
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

export const DEFAULT_POLICY: EffectivePolicy = {
  retry: {
    enabled: true,
    maxRetries: 2,
    retryOnHttpStatus: new Set([502, 503, 504]),
    retryOnGrpcStatus: new Set([14]),
    budgetRatio: 0.2,
    budgetMinPerSecond: 10,
    backoffBaseMs: 25,
    backoffMaxMs: 250,
    maxBufferedBodyBytes: 64 * 1024,
  },
  // The control plane's defaults (control-plane/src/policy-defaults.ts), for a proxy that has none from it.
  responseTimeoutMs: 10_000,
  idleTimeoutMs: 3_600_000,
  totalTimeoutMs: 0,
  connectTimeoutMs: 1_000,
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
