// Per-Service client policy and per-namespace inbound policy read from
// Kubernetes annotations. A bad value never breaks discovery: it is skipped and
// reported with a stable code, and the default applies.
import { DEFAULT_POLICY_ANNOTATION, DEFAULT_POLICY_NAMES, parseDefaultPolicy, parseInboundModeAnnotation, type DefaultPolicy } from "../../lib/authz/default-policy.ts";
import { parseDuration, type DurationLimits } from "../../lib/duration.ts";
import { fail, type Failure } from "../../lib/result.ts";
import { parseSpiffeId } from "../../lib/spiffe.ts";
import type { ClientOverride, RetrySettings } from "./policy-defaults.ts";
import type { NamespaceInbound } from "./mesh-state.ts";

export const POLICY_ANNOTATIONS = {
  retryEnabled: "retry.weft.io/enabled",
  maxRetries: "retry.weft.io/max-retries",
  retryHttpStatuses: "retry.weft.io/http-statuses",
  retryGrpcStatuses: "retry.weft.io/grpc-statuses",
  budgetRatio: "retry.weft.io/budget-ratio",
  budgetMinPerSecond: "retry.weft.io/budget-min-per-second",
  responseTimeout: "timeout.weft.io/response",
  idleTimeout: "timeout.weft.io/idle",
  totalTimeout: "timeout.weft.io/total",
  /** Deprecated: the response timeout's old name; timeout.weft.io/response wins when both are set. */
  requestTimeout: "timeout.weft.io/request",
  connectTimeout: "timeout.weft.io/connect",
  inboundMode: "config.weft.io/inbound-mode",
  inboundAllowedIdentities: "config.weft.io/inbound-allowed-identities",
  inboundPlaintextPorts: "config.weft.io/inbound-plaintext-ports",
  /** On a namespace or a pod (the pod's wins); wins over inboundMode. */
  defaultInboundPolicy: DEFAULT_POLICY_ANNOTATION,
} as const;

const GRPC_STATUS_NAMES = new Set([
  "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
  "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
]);

export interface Parsed<T> {
  value: T;
  problems: Failure[];
}

/** Policy timeouts and backoffs: "0" means none, and the snapshot carries them as uint32 milliseconds. */
export const POLICY_DURATION: DurationLimits = { allowZero: true, maxMs: 0xffffffff };

function parseIntIn(text: string, min: number, max: number): number | null {
  if (!/^\s*\d+\s*$/.test(text)) return null;
  const n = Number(text);
  return n >= min && n <= max ? n : null;
}

function parseList(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/** The client-policy override a Service's annotations ask for (null when none). */
export function clientOverrideFromAnnotations(annotations: Record<string, string> | undefined): Parsed<ClientOverride | null> {
  const problems: Failure[] = [];
  const a = annotations ?? {};
  const A = POLICY_ANNOTATIONS;
  const retry: Partial<RetrySettings> = {};
  const out: ClientOverride = {};
  const bad = (key: string, expected: string) =>
    problems.push(fail("bad-policy-annotation", `annotation ${key}="${a[key]}" ignored: expected ${expected}`));

  if (a[A.retryEnabled] !== undefined) {
    const v = a[A.retryEnabled].trim().toLowerCase();
    if (v === "true" || v === "false") retry.enabled = v === "true";
    else bad(A.retryEnabled, "true or false");
  }
  if (a[A.maxRetries] !== undefined) {
    const n = parseIntIn(a[A.maxRetries], 0, 10);
    if (n === null) bad(A.maxRetries, "an integer from 0 to 10");
    else retry.maxRetries = n;
  }
  if (a[A.retryHttpStatuses] !== undefined) {
    const codes = parseList(a[A.retryHttpStatuses]).map((s) => parseIntIn(s, 100, 599));
    if (codes.some((c) => c === null)) bad(A.retryHttpStatuses, "comma-separated HTTP statuses (100-599)");
    else retry.retryOnHttpStatus = codes as number[];
  }
  if (a[A.retryGrpcStatuses] !== undefined) {
    const names = parseList(a[A.retryGrpcStatuses]).map((s) => s.toUpperCase());
    if (names.some((n) => !GRPC_STATUS_NAMES.has(n))) bad(A.retryGrpcStatuses, "comma-separated gRPC status names");
    else retry.retryOnGrpcStatus = names;
  }
  if (a[A.budgetRatio] !== undefined) {
    const n = Number(a[A.budgetRatio]);
    if (a[A.budgetRatio].trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) bad(A.budgetRatio, "a number from 0 to 1");
    else retry.budgetRatio = n;
  }
  if (a[A.budgetMinPerSecond] !== undefined) {
    const n = parseIntIn(a[A.budgetMinPerSecond], 0, 100_000);
    if (n === null) bad(A.budgetMinPerSecond, "an integer from 0 to 100000");
    else retry.budgetMinPerSecond = n;
  }
  const timeout = (key: string, set: (ms: number) => void) => {
    if (a[key] === undefined) return;
    const ms = parseDuration(a[key], POLICY_DURATION);
    if (!ms.ok) bad(key, 'a duration such as "10s" or "500ms" ("0" for none)');
    else set(ms.value);
  };
  timeout(A.requestTimeout, (ms) => (out.responseTimeoutMs = ms));
  timeout(A.responseTimeout, (ms) => (out.responseTimeoutMs = ms));
  timeout(A.idleTimeout, (ms) => (out.idleTimeoutMs = ms));
  timeout(A.totalTimeout, (ms) => (out.totalTimeoutMs = ms));
  if (a[A.connectTimeout] !== undefined) {
    const ms = parseDuration(a[A.connectTimeout], POLICY_DURATION);
    if (!ms.ok) bad(A.connectTimeout, 'a duration such as "1s" or "500ms"');
    else out.connectTimeoutMs = ms.value;
  }
  if (Object.keys(retry).length > 0) out.retry = retry;
  return { value: Object.keys(out).length > 0 ? out : null, problems };
}

/** The inbound policy a namespace's annotations ask for. */
export function inboundFromAnnotations(annotations: Record<string, string> | undefined): Parsed<NamespaceInbound> {
  const problems: Failure[] = [];
  const a = annotations ?? {};
  const A = POLICY_ANNOTATIONS;
  const value: NamespaceInbound = { mode: null, defaultPolicy: null, allowedIdentities: [], plaintextPorts: [] };
  const bad = (key: string, expected: string) =>
    problems.push(fail("bad-policy-annotation", `annotation ${key}="${a[key]}" ignored: expected ${expected}`));

  if (a[A.inboundMode] !== undefined) {
    const mode = parseInboundModeAnnotation(a[A.inboundMode]);
    if (mode === null) bad(A.inboundMode, "strict or permissive");
    else value.mode = mode;
  }
  const defaultPolicy = defaultPolicyFromAnnotations(a);
  problems.push(...defaultPolicy.problems);
  value.defaultPolicy = defaultPolicy.value;
  if (a[A.inboundAllowedIdentities] !== undefined) {
    const ids = parseList(a[A.inboundAllowedIdentities]);
    if (ids.some((id) => !parseSpiffeId(id).ok)) bad(A.inboundAllowedIdentities, "comma-separated spiffe://<td>/ns/<ns>/sa/<sa> ids");
    else value.allowedIdentities = ids;
  }
  if (a[A.inboundPlaintextPorts] !== undefined) {
    const ports = parseList(a[A.inboundPlaintextPorts]).map((s) => parseIntIn(s, 1, 65535));
    if (ports.some((p) => p === null)) bad(A.inboundPlaintextPorts, "comma-separated ports (1-65535)");
    else value.plaintextPorts = ports as number[];
  }
  return { value, problems };
}

/** config.weft.io/default-inbound-policy on a namespace or a pod (null: unset, or bad and reported). */
export function defaultPolicyFromAnnotations(annotations: Record<string, string> | undefined): Parsed<DefaultPolicy | null> {
  const text = annotations?.[POLICY_ANNOTATIONS.defaultInboundPolicy];
  if (text === undefined) return { value: null, problems: [] };
  const parsed = parseDefaultPolicy(text.trim());
  if (parsed.ok) return { value: parsed.value, problems: [] };
  const expected = `one of ${DEFAULT_POLICY_NAMES.join(", ")}, each optionally as dry-run:<name>`;
  return { value: null, problems: [fail("bad-policy-annotation", `annotation ${POLICY_ANNOTATIONS.defaultInboundPolicy}="${text}" ignored: expected ${expected}`)] };
}
