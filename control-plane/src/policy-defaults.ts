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
  /** Whole request including retries; 0 = none. */
  requestTimeoutMs: number;
  /** 0 = the proxy's default. */
  connectTimeoutMs: number;
}

export interface ClientOverride {
  retry?: Partial<RetrySettings>;
  requestTimeoutMs?: number;
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
  requestTimeoutMs: 10_000,
  connectTimeoutMs: 1_000,
}) as ClientSettings;

export const DEFAULT_INBOUND_MODE: InboundMode = "STRICT";

export function mergeClient(base: ClientSettings, override: ClientOverride | null | undefined): ClientSettings {
  if (!override) return base;
  return {
    retry: { ...base.retry, ...stripUndefined(override.retry ?? {}) },
    requestTimeoutMs: override.requestTimeoutMs ?? base.requestTimeoutMs,
    connectTimeoutMs: override.connectTimeoutMs ?? base.connectTimeoutMs,
  };
}

export function isEmptyOverride(override: ClientOverride | null | undefined): boolean {
  if (!override) return true;
  return (
    override.requestTimeoutMs === undefined &&
    override.connectTimeoutMs === undefined &&
    Object.keys(stripUndefined(override.retry ?? {})).length === 0
  );
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
