// Trace context on the wire: reading W3C traceparent/tracestate and Zipkin's
// B3 (single and multi-header) from request headers, and writing the
// configured formats on the request a proxy forwards. Plain functions over
// strings, without the OpenTelemetry SDK: most requests are not sampled, and
// for those this is all the tracing work the proxy does (see docs/decisions.md,
// "Tracing: the unsampled path").
import { randomFillSync } from "node:crypto";
import type { PropagationFormat } from "./tracing-config.ts";

/** A caller's trace context as it arrived (or the proxy's own, as it leaves). */
export interface WireContext {
  /** 32 lower-case hex digits, not all zero. */
  traceId: string;
  /** 16 lower-case hex digits, not all zero. */
  spanId: string;
  /** The caller's decision; undefined when it deferred it (B3 without a sampling state). */
  sampled: boolean | undefined;
  /** W3C tracestate, passed on unchanged (only with a traceparent parent). */
  traceState?: string;
}

/** What a request's headers say about tracing. */
export type Incoming =
  | { kind: "context"; context: WireContext }
  /** No ids, only a decision ("b3: 0" or a lone x-b3-sampled). */
  | { kind: "decision"; sampled: boolean }
  | { kind: "none" };

export const W3C_TRACEPARENT = "traceparent";
export const W3C_TRACESTATE = "tracestate";
export const B3_SINGLE = "b3";
export const B3_TRACE_ID = "x-b3-traceid";
export const B3_SPAN_ID = "x-b3-spanid";
export const B3_SAMPLED = "x-b3-sampled";
export const B3_PARENT_SPAN_ID = "x-b3-parentspanid";
export const B3_FLAGS = "x-b3-flags";

/** Every header any format may carry: removed from a forwarded request before the proxy writes its own. */
export const TRACE_HEADERS: readonly string[] = [W3C_TRACEPARENT, W3C_TRACESTATE, B3_SINGLE, B3_TRACE_ID, B3_SPAN_ID, B3_SAMPLED, B3_PARENT_SPAN_ID, B3_FLAGS];

type HeaderValue = string | string[] | number | undefined;
export type HeaderBag = Record<string, HeaderValue>;

const ZERO_TRACE = "00000000000000000000000000000000";
const ZERO_SPAN = "0000000000000000";

function isLowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** A single header value, or undefined when absent or repeated (a repeated trace header is ambiguous). */
function one(v: HeaderValue): string | undefined {
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.length === 1) return v[0];
  return undefined;
}

/**
 * traceparent per W3C Trace Context level 1: version 00 has exactly four
 * fields; a later version may append fields, which are ignored; version ff is
 * invalid, as are all-zero ids. Leading/trailing whitespace is tolerated.
 */
export function parseTraceparent(raw: string): { traceId: string; spanId: string; sampled: boolean } | undefined {
  const v = raw.trim();
  if (v.length < 55 || v.charCodeAt(2) !== 45 || v.charCodeAt(35) !== 45 || v.charCodeAt(52) !== 45) return undefined;
  if (!isLowerHex(v, 0, 2) || v.startsWith("ff")) return undefined;
  if (v.startsWith("00") ? v.length !== 55 : v.length > 55 && v.charCodeAt(55) !== 45) return undefined;
  if (!isLowerHex(v, 3, 35) || !isLowerHex(v, 36, 52) || !isLowerHex(v, 53, 55)) return undefined;
  const traceId = v.slice(3, 35);
  const spanId = v.slice(36, 52);
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, sampled: (parseInt(v.slice(53, 55), 16) & 1) === 1 };
}

/** B3 trace ids are 16 or 32 hex digits; a 64-bit one is left-padded so every format agrees on the id. */
function b3TraceId(s: string): string | undefined {
  if ((s.length !== 32 && s.length !== 16) || !isLowerHex(s, 0, s.length)) return undefined;
  const id = s.length === 16 ? ZERO_SPAN + s : s;
  return id === ZERO_TRACE ? undefined : id;
}

function b3SpanId(s: string): string | undefined {
  return s.length === 16 && isLowerHex(s, 0, 16) && s !== ZERO_SPAN ? s : undefined;
}

/** "1", "true" and "d" (debug) sample; "0" and "false" do not; anything else defers. */
function b3Sampling(s: string | undefined): boolean | undefined {
  if (s === "1" || s === "d" || s === "true") return true;
  if (s === "0" || s === "false") return false;
  return undefined;
}

/** b3: {traceId}-{spanId}[-{sampling}[-{parentSpanId}]], or a lone sampling state. */
function parseB3Single(raw: string): Incoming {
  const v = raw.trim();
  const parts = v.split("-");
  if (parts.length === 1) {
    const sampled = b3Sampling(parts[0]);
    return sampled === undefined ? { kind: "none" } : { kind: "decision", sampled };
  }
  if (parts.length > 4) return { kind: "none" };
  const traceId = b3TraceId(parts[0] ?? "");
  const spanId = b3SpanId(parts[1] ?? "");
  if (!traceId || !spanId) return { kind: "none" };
  const sampled = parts.length > 2 ? b3Sampling(parts[2]) : undefined;
  if (parts.length > 2 && sampled === undefined) return { kind: "none" };
  return { kind: "context", context: { traceId, spanId, sampled } };
}

function parseB3Multi(headers: HeaderBag): Incoming {
  const debug = one(headers[B3_FLAGS]) === "1";
  const sampledHeader = one(headers[B3_SAMPLED]);
  const sampled = debug ? true : b3Sampling(sampledHeader);
  const rawTrace = one(headers[B3_TRACE_ID]);
  const rawSpan = one(headers[B3_SPAN_ID]);
  if (rawTrace === undefined && rawSpan === undefined) return sampled === undefined ? { kind: "none" } : { kind: "decision", sampled };
  const traceId = b3TraceId(rawTrace ?? "");
  const spanId = b3SpanId(rawSpan ?? "");
  if (!traceId || !spanId) return { kind: "none" };
  return { kind: "context", context: { traceId, spanId, sampled } };
}

/**
 * The caller's context from any format Weft reads. When a request carries
 * several, a valid traceparent wins (the standard format is the one a caller
 * most deliberately set), then B3 single, then B3 multi. Malformed headers
 * count as absent: the request starts a new trace rather than failing.
 */
export function readTraceContext(headers: HeaderBag): Incoming {
  const tp = one(headers[W3C_TRACEPARENT]);
  if (tp !== undefined) {
    const parsed = parseTraceparent(tp);
    if (parsed) {
      const ts = headers[W3C_TRACESTATE];
      const traceState = typeof ts === "string" ? ts : Array.isArray(ts) ? ts.join(",") : undefined;
      const context: WireContext = { ...parsed };
      if (traceState) context.traceState = traceState;
      return { kind: "context", context };
    }
  }
  const single = one(headers[B3_SINGLE]);
  if (single !== undefined) {
    const parsed = parseB3Single(single);
    if (parsed.kind !== "none") return parsed;
  }
  return parseB3Multi(headers);
}

/**
 * Writes `ctx` in each of `formats` after removing every trace header the
 * request came with, so the next hop never sees a stale parent in a format the
 * proxy was not configured to write.
 */
export function writeTraceContext(headers: HeaderBag, ctx: { traceId: string; spanId: string; sampled: boolean; traceState?: string }, formats: readonly PropagationFormat[]): void {
  // Only headers that will not be overwritten are deleted: a delete turns the
  // object into a slow dictionary for the serialization that follows, and
  // between two Weft proxies every incoming trace header is rewritten.
  for (const name of TRACE_HEADERS) {
    if (headers[name] !== undefined && !(writes(formats, name) && (name !== W3C_TRACESTATE || ctx.traceState))) delete headers[name];
  }
  const flag = ctx.sampled ? "1" : "0";
  for (const format of formats) {
    switch (format) {
      case "tracecontext":
        headers[W3C_TRACEPARENT] = `00-${ctx.traceId}-${ctx.spanId}-0${flag}`;
        if (ctx.traceState) headers[W3C_TRACESTATE] = ctx.traceState;
        break;
      case "b3":
        headers[B3_SINGLE] = `${ctx.traceId}-${ctx.spanId}-${flag}`;
        break;
      case "b3multi":
        headers[B3_TRACE_ID] = ctx.traceId;
        headers[B3_SPAN_ID] = ctx.spanId;
        headers[B3_SAMPLED] = flag;
        break;
    }
  }
}

function writes(formats: readonly PropagationFormat[], name: string): boolean {
  switch (name) {
    case W3C_TRACEPARENT:
    case W3C_TRACESTATE:
      return formats.includes("tracecontext");
    case B3_SINGLE:
      return formats.includes("b3");
    case B3_TRACE_ID:
    case B3_SPAN_ID:
    case B3_SAMPLED:
      return formats.includes("b3multi");
    default:
      return false;
  }
}

// Ids come from one pooled buffer refilled by the CSPRNG: a span id costs a
// hex slice instead of a syscall or sixteen Math.random calls.
const POOL = Buffer.allocUnsafe(4096);
let poolOffset = POOL.length;

function randomHex(bytes: number): string {
  for (;;) {
    if (poolOffset + bytes > POOL.length) {
      randomFillSync(POOL);
      poolOffset = 0;
    }
    const hex = POOL.toString("hex", poolOffset, poolOffset + bytes);
    poolOffset += bytes;
    // An all-zero id is invalid in every format; with 64 random bits it never
    // happens in practice, but costs nothing to exclude.
    if (hex !== ZERO_SPAN && hex !== ZERO_TRACE) return hex;
  }
}

export function newTraceId(): string {
  return randomHex(16);
}

export function newSpanId(): string {
  return randomHex(8);
}
