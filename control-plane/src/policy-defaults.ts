// The mesh's built-in client and inbound policy, and how a partial override
// (from a Service's annotations or the registry file) lands on top of it. The
// control plane always sends complete, merged policies so a proxy never has to
// guess what an unset proto3 field meant.
import { CLIENT_POLICY_DEFAULTS } from "../../lib/client-policy-defaults.ts";

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

/** The snapshot's client defaults unless the operator sets others: lib/client-policy-defaults.ts, shared with the proxy. */
export const DEFAULT_CLIENT_SETTINGS: ClientSettings = CLIENT_POLICY_DEFAULTS;

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
