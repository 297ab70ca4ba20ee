// The client policy a proxy applies when the snapshot names none: what the
// control plane puts in the snapshot's client defaults, and what a proxy with
// no control plane value falls back on. One copy, so the two cannot drift.
export const CLIENT_POLICY_DEFAULTS = Object.freeze({
  retry: Object.freeze({
    enabled: true,
    maxRetries: 2,
    retryOnHttpStatus: [502, 503, 504],
    /** gRPC status names (the registry file's and the annotations' spelling). */
    retryOnGrpcStatus: ["UNAVAILABLE"],
    budgetRatio: 0.2,
    budgetMinPerSecond: 10,
    backoffBaseMs: 25,
    backoffMaxMs: 250,
    maxBufferedBodyBytes: 64 * 1024,
  }),
  // Long enough for any healthy response head; it never covers a body.
  responseTimeoutMs: 10_000,
  // Istio's stream idle timeout. Watch-style gRPC streams (grpc.health.v1
  // Health/Watch, subscriptions) legitimately stay silent for many minutes,
  // so a shorter default (Envoy's 5 min) would break apps that work unmeshed;
  // a dead peer is found by the connection's own liveness checks, not this.
  idleTimeoutMs: 3_600_000,
  // Off, as in Linkerd and Istio: a download or a stream may last as long as it moves.
  totalTimeoutMs: 0,
  connectTimeoutMs: 1_000,
});
