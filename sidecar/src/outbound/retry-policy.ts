// Whether a failed attempt is retried. Pure: the I/O shell describes the
// request and the outcome, and takes the budget only when this says yes.
import type { EffectiveRetry } from "../discovery/client-policy.ts";

export interface RetryRequest {
  method: string;
  grpc: boolean;
  /** False once the body outgrew the retry buffer. */
  replayable: boolean;
}

export type AttemptOutcome =
  /** No connection (or the stream was refused): the request never reached the app. */
  | { kind: "connect-failure" }
  /** The connection or stream broke after the request was sent. */
  | { kind: "reset" }
  /** No response head within a route's per-attempt timeout (timeouts.backendRequest); the attempt was given up. */
  | { kind: "attempt-timeout" }
  | { kind: "response"; status: number; grpcStatus?: number };

export type RetryDecision =
  | { retry: true; backoffMs: number }
  | { retry: false; reason: "success" | "disabled" | "not-retryable" | "not-idempotent" | "body-too-large" | "attempts-exhausted" };

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method.toUpperCase());
}

/** Full jitter: uniformly random up to the exponential step, so retries do not align. */
export function backoffMs(attempt: number, policy: Pick<EffectiveRetry, "backoffBaseMs" | "backoffMaxMs">, rng: () => number): number {
  const ceiling = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(rng() * ceiling);
}

/** Whether the outcome counts as a failure at all (for the decision, the breaker and metrics). */
export function isRetryableOutcome(request: Pick<RetryRequest, "grpc">, outcome: AttemptOutcome, policy: EffectiveRetry): boolean {
  switch (outcome.kind) {
    case "connect-failure":
    case "reset":
    case "attempt-timeout":
      return true;
    case "response":
      if (request.grpc && outcome.grpcStatus !== undefined) return policy.retryOnGrpcStatus.has(outcome.grpcStatus);
      return policy.retryOnHttpStatus.has(outcome.status);
  }
}

/** `attempt` is the number of attempts already made (1 after the first). */
export function shouldRetry(request: RetryRequest, outcome: AttemptOutcome, attempt: number, policy: EffectiveRetry, rng: () => number): RetryDecision {
  if (outcome.kind === "response" && !isRetryableOutcome(request, outcome, policy)) return { retry: false, reason: "success" };
  if (!policy.enabled) return { retry: false, reason: "disabled" };
  if (!isRetryableOutcome(request, outcome, policy)) return { retry: false, reason: "not-retryable" };
  // A request that never left the proxy is safe to retry whatever its method;
  // gRPC statuses like UNAVAILABLE say the call was not processed.
  const safe = outcome.kind === "connect-failure" || isIdempotent(request.method) || (request.grpc && outcome.kind === "response");
  if (!safe) return { retry: false, reason: "not-idempotent" };
  if (!request.replayable) return { retry: false, reason: "body-too-large" };
  if (attempt > policy.maxRetries) return { retry: false, reason: "attempts-exhausted" };
  return { retry: true, backoffMs: backoffMs(attempt, policy, rng) };
}
