// The mesh's built-in client and inbound policy, and how a partial override
// (from a Service's annotations or the registry file) lands on top of it. The
// control plane always sends complete, merged policies so a proxy never has to
// guess what an unset proto3 field meant.

/** A namespace's inbound mode: STRICT takes mesh mTLS only; PERMISSIVE also passes plaintext through to the app. */
export type InboundMode = "STRICT" | "PERMISSIVE";

export interface RetrySettings {
  enabled: boolean;
  maxRetries: number;
  retryOnHttpStatus: number[];
  retryOnGrpcStatus: string[];
  budgetRatio: number;
  budgetMinPerSecond: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  maxBufferedBodyBytes: number;
}

export interface ClientSettings {
  retry: RetrySettings;
  /** From the request fully sent until the response head, across retries; 0 = off. */
  responseTimeoutMs: number;
  /** No byte in either direction for this long ends the request; 0 = off. */
  idleTimeoutMs: number;
  /** The whole exchange, body streaming included; 0 = off. */
  totalTimeoutMs: number;
  /** 0 = the proxy's default. */
  connectTimeoutMs: number;
}

export interface ClientOverride {
  retry?: Partial<RetrySettings>;
  responseTimeoutMs?: number;
  idleTimeoutMs?: number;
  totalTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export const DEFAULT_CLIENT_SETTINGS: ClientSettings = Object.freeze({
  retry: Object.freeze({
    enabled: true,
    maxRetries: 2,
    retryOnHttpStatus: [502, 503, 504],
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
}) as ClientSettings;

export const DEFAULT_INBOUND_MODE: InboundMode = "STRICT";

export function mergeClient(base: ClientSettings, override: ClientOverride | null | undefined): ClientSettings {
  if (!override) return base;
  return {
    retry: { ...base.retry, ...stripUndefined(override.retry ?? {}) },
    responseTimeoutMs: override.responseTimeoutMs ?? base.responseTimeoutMs,
    idleTimeoutMs: override.idleTimeoutMs ?? base.idleTimeoutMs,
    totalTimeoutMs: override.totalTimeoutMs ?? base.totalTimeoutMs,
    connectTimeoutMs: override.connectTimeoutMs ?? base.connectTimeoutMs,
  };
}

export function isEmptyOverride(override: ClientOverride | null | undefined): boolean {
  if (!override) return true;
  return (
    override.responseTimeoutMs === undefined &&
    override.idleTimeoutMs === undefined &&
    override.totalTimeoutMs === undefined &&
    override.connectTimeoutMs === undefined &&
    Object.keys(stripUndefined(override.retry ?? {})).length === 0
  );
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
