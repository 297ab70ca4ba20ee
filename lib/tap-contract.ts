// What the proxies, the tap component (in the control plane) and `weft tap`
// agree on: the ALPN name of a tap connection, the tap request (filters, rate,
// opted-in header names) with its one validating parser, and the event a proxy
// emits per request. docs/security.md ("Tap") describes the flow.
import { fail, ok, type Result } from "./result.ts";

/**
 * A tap connection is mTLS to a proxy's inbound listener with this ALPN name:
 * the component writes one JSON line (a TapRequest), the proxy answers with
 * one TapEvent per line until either side closes.
 */
export const ALPN_TAP = "weft.tap/1";

/** Events per second a tap request gets when it names no rate. */
export const DEFAULT_TAP_RPS = 100;
/** Hard ceiling per tap request on a proxy, whatever it asks for: tapping's cost stays bounded. */
export const MAX_TAP_RPS = 500;
/** Concurrent tap requests one proxy serves; more are refused. */
export const MAX_TAPS_PER_PROXY = 8;
/** Header names a tap request may opt in to. */
export const MAX_TAP_HEADERS = 16;
/** A tap request line longer than this is refused. */
export const MAX_TAP_REQUEST_BYTES = 16 * 1024;

export interface TapRequest {
  /** Events per second at most (1..MAX_TAP_RPS). */
  maxRps: number;
  /** Exact method, upper case. */
  method?: string;
  /** Path prefix (before any query). */
  pathPrefix?: string;
  /** Only requests to these: a Service ("namespace/name") or a SPIFFE id of the destination. Empty: any. */
  to?: { services: string[]; identities: string[] };
  /** Lower-case header names whose values the events carry; none by default. */
  headers: string[];
}

export type TapDirection = "inbound" | "outbound";

export interface TapEvent {
  /** Wall-clock milliseconds since the epoch when the response ended (the proxy's clock). */
  ts: number;
  direction: TapDirection;
  /** SPIFFE id of the caller ("" when plaintext and unknown). */
  source: string;
  /** SPIFFE id of the callee ("" when it is not meshed). */
  destination: string;
  /** Outbound: the Service called ("namespace/name"). */
  service?: string;
  method: string;
  authority: string;
  /** Path without its query string; for gRPC the method ("/pkg.Service/Method"). */
  path: string;
  grpc: boolean;
  status: number;
  grpcStatus?: number;
  /** Stable code when the proxy itself failed the request. */
  error?: string;
  latencyMs: number;
  requestBytes?: number;
  responseBytes?: number;
  /** The hop was mutual TLS. */
  tls: boolean;
  /** The HTTPRoute or GRPCRoute ("namespace/name") an outbound request followed. */
  route?: string;
  /** Inbound under an Authorization: the decision. */
  authz?: "allow" | "deny";
  /** Only the header names the tap request opted in to. */
  headers?: Record<string, string>;
  /** Set by the tap component: the pod ("namespace/name") whose proxy saw the request. */
  pod?: string;
}

/**
 * A line of the tap component's merged stream that is not an event: why a
 * selected proxy is not (or no longer) streaming. The CLI shows it and, when
 * no proxy could be tapped at all, fails instead of ending quietly.
 */
export interface TapNotice {
  notice: "proxy-refused" | "proxy-unreachable" | "no-certificate";
  /** "namespace/name" of the pod whose proxy it concerns; absent for the whole tap. */
  pod?: string;
  message: string;
}

/** One line of the merged stream: an event, a notice, or null for anything else (skipped). Never throws. */
export function parseTapLine(line: string): { event: TapEvent } | { notice: TapNotice } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null) return null;
  if ("direction" in parsed) return { event: parsed as TapEvent };
  const n = parsed as Partial<TapNotice>;
  if (typeof n.notice === "string" && typeof n.message === "string") return { notice: { notice: n.notice, message: n.message, ...(typeof n.pod === "string" ? { pod: n.pod } : {}) } };
  return null;
}

const METHOD = /^[A-Z]{1,20}$/;
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,100}$/;
const SERVICE = /^[a-z0-9.-]{1,253}\/[a-z0-9.-]{1,253}$/;

function strings(value: unknown, what: string, check: (s: string) => boolean, max: number): Result<string[]> {
  if (value === undefined) return ok([]);
  if (!Array.isArray(value) || value.length > max) return fail("bad-tap-request", `${what}: at most ${max} strings`);
  const out: string[] = [];
  for (const v of value) {
    if (typeof v !== "string" || !check(v)) return fail("bad-tap-request", `${what}: "${String(v)}" is not valid`);
    out.push(v);
  }
  return ok(out);
}

/** The one parser of a tap request, on both the component and the proxy. Never throws. */
export function parseTapRequest(input: unknown): Result<TapRequest> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return fail("bad-tap-request", "a tap request is a JSON object");
  const r = input as Record<string, unknown>;
  const maxRps = r.maxRps === undefined ? DEFAULT_TAP_RPS : r.maxRps;
  if (typeof maxRps !== "number" || !Number.isFinite(maxRps) || maxRps <= 0) return fail("bad-tap-request", "maxRps must be a positive number");
  const out: TapRequest = { maxRps: Math.min(maxRps, MAX_TAP_RPS), headers: [] };
  if (r.method !== undefined) {
    if (typeof r.method !== "string" || !METHOD.test(r.method)) return fail("bad-tap-request", "method must be an upper-case HTTP method");
    out.method = r.method;
  }
  if (r.pathPrefix !== undefined) {
    if (typeof r.pathPrefix !== "string" || !r.pathPrefix.startsWith("/") || r.pathPrefix.length > 1024) return fail("bad-tap-request", "pathPrefix must start with / (at most 1024 characters)");
    out.pathPrefix = r.pathPrefix;
  }
  if (r.to !== undefined) {
    if (typeof r.to !== "object" || r.to === null) return fail("bad-tap-request", "to must be an object");
    const to = r.to as Record<string, unknown>;
    const services = strings(to.services, "to.services", (s) => SERVICE.test(s), 64);
    if (!services.ok) return services;
    const identities = strings(to.identities, "to.identities", (s) => s.startsWith("spiffe://") && s.length <= 2048, 64);
    if (!identities.ok) return identities;
    out.to = { services: services.value, identities: identities.value };
  }
  const headers = strings(r.headers, "headers", (s) => HEADER_NAME.test(s), MAX_TAP_HEADERS);
  if (!headers.ok) return headers;
  out.headers = headers.value;
  return ok(out);
}

/** Whether a request's head passes a tap request's filters (the rate is not a filter). Pure. */
export function tapMatches(r: TapRequest, req: { method: string; path: string; service: string; destination: string }): boolean {
  if (r.method !== undefined && req.method !== r.method) return false;
  if (r.pathPrefix !== undefined && !req.path.startsWith(r.pathPrefix)) return false;
  if (r.to !== undefined && (r.to.services.length > 0 || r.to.identities.length > 0)) {
    if (!r.to.services.includes(req.service) && !r.to.identities.includes(req.destination)) return false;
  }
  return true;
}
