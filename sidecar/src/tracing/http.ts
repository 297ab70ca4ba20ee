// What the proxy does to trace one HTTP request: read the caller's context from
// the headers, open a server span for the request it received and a client span
// for every attempt it sends (retries included), write the attempt's context
// into the forwarded headers, and close each span with the outcome. Attribute
// names follow the stable HTTP semantic conventions; Weft's own are weft.*.
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapPropagator,
  type Tracer,
} from "@opentelemetry/api";
import type { HeaderBag } from "../../../lib/trace-context.ts";

/** Node's IncomingHttpHeaders and OutgoingHttpHeaders both fit (lower-case names). */
export type { HeaderBag };

export const ATTR = {
  method: "http.request.method",
  methodOriginal: "http.request.method_original",
  route: "http.route",
  path: "url.path",
  scheme: "url.scheme",
  status: "http.response.status_code",
  requestBytes: "http.request.body.size",
  responseBytes: "http.response.body.size",
  resendCount: "http.request.resend_count",
  serverAddress: "server.address",
  serverPort: "server.port",
  clientAddress: "client.address",
  peerAddress: "network.peer.address",
  peerPort: "network.peer.port",
  protocolVersion: "network.protocol.version",
  errorType: "error.type",
  /** SPIFFE id of the other side, as proven by mTLS (the client's on a server span, the server's on a client span). */
  peerIdentity: "weft.peer.identity",
  /** 1 for the first try, 2 for the first retry, ... */
  attempt: "weft.attempt",
  /** inbound (from the network to the app) or outbound (from the app to the network). */
  direction: "weft.direction",
} as const;

/** A request the proxy received (from its app on the outbound side, from a peer on the inbound side). */
export interface RequestInfo {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Route template when a route matched (low cardinality; used in the span name). */
  route?: string;
  scheme?: "http" | "https";
  /** Host or :authority the request was addressed to. */
  host?: string;
  peerAddress?: string;
  peerPort?: number;
  /** Verified SPIFFE id of the caller, when the request came over mTLS. */
  peerIdentity?: string;
  /** "1.1" or "2". */
  protocolVersion?: string;
  direction?: "inbound" | "outbound";
  /** Request body size when known up front (content-length). */
  requestBytes?: number;
}

/** One attempt the proxy sends upstream. */
export interface AttemptInfo {
  method: string;
  path: string;
  route?: string;
  scheme?: "http" | "https";
  /** The logical destination (service name or host). */
  serverAddress?: string;
  serverPort?: number;
  /** The endpoint actually chosen for this attempt. */
  peerAddress?: string;
  peerPort?: number;
  /** Expected or verified SPIFFE id of the endpoint. */
  peerIdentity?: string;
  /** 1-based. */
  attempt: number;
  protocolVersion?: string;
  direction?: "inbound" | "outbound";
  requestBytes?: number;
}

export interface Outcome {
  /** Absent when no response arrived (connection error, timeout). */
  statusCode?: number;
  requestBytes?: number;
  responseBytes?: number;
  /** Low-cardinality reason when the request failed without a status (e.g. "timeout", "connect_refused"). */
  error?: string;
  /** The verified peer identity, when only known after the handshake. */
  peerIdentity?: string;
}

export interface HttpSpan {
  span: Span;
  /** Context holding this span: parent of whatever the proxy does next for the request. */
  ctx: Context;
  kind: SpanKind;
}

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);

/** The method for span names: known methods upper-cased, anything else "HTTP" (bounded cardinality). */
function normalizedMethod(method: string): string {
  if (KNOWN_METHODS.has(method)) return method;
  const upper = method.toUpperCase();
  return KNOWN_METHODS.has(upper) ? upper : "HTTP";
}

function methodAttributes(method: string, attrs: Attributes): void {
  const upper = method.toUpperCase();
  if (KNOWN_METHODS.has(upper)) {
    attrs[ATTR.method] = upper;
    if (upper !== method) attrs[ATTR.methodOriginal] = method;
    return;
  }
  // Unknown methods are bucketed so a hostile client cannot explode cardinality.
  attrs[ATTR.method] = "_OTHER";
  attrs[ATTR.methodOriginal] = method.slice(0, 64);
}

function spanName(method: string, route: string | undefined): string {
  return route ? `${method} ${route}` : method;
}

function set(attrs: Attributes, key: string, value: string | number | undefined): void {
  if (value !== undefined && value !== "") attrs[key] = value;
}

/** The attributes a server span and an attempt's client span both carry. */
function sharedAttributes(info: RequestInfo | AttemptInfo): Attributes {
  const attrs: Attributes = {};
  methodAttributes(info.method, attrs);
  set(attrs, ATTR.path, info.path);
  set(attrs, ATTR.route, info.route);
  set(attrs, ATTR.scheme, info.scheme ?? "http");
  set(attrs, ATTR.peerAddress, info.peerAddress);
  set(attrs, ATTR.peerPort, info.peerPort);
  set(attrs, ATTR.peerIdentity, info.peerIdentity);
  set(attrs, ATTR.protocolVersion, info.protocolVersion);
  set(attrs, ATTR.direction, info.direction);
  set(attrs, ATTR.requestBytes, info.requestBytes);
  return attrs;
}

/** The caller's trace context from request headers, or the root context when there is none. */
export function extractContext(propagator: TextMapPropagator, headers: HeaderBag): Context {
  return propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
}

/** Opens the server span for a request the proxy received; `parent` comes from extractContext. */
export function startServerSpan(tracer: Tracer, parent: Context, info: RequestInfo, startTime?: number): HttpSpan {
  const span = tracer.startSpan(spanName(normalizedMethod(info.method), info.route), { kind: SpanKind.SERVER, startTime }, parent);
  // Unsampled requests (most of them at a low ratio) skip building attributes.
  if (span.isRecording()) {
    const attrs = sharedAttributes(info);
    set(attrs, ATTR.serverAddress, info.host);
    set(attrs, ATTR.clientAddress, info.peerAddress);
    span.setAttributes(attrs);
  }
  return { span, ctx: trace.setSpan(parent, span), kind: SpanKind.SERVER };
}

/** Opens the client span of one attempt, as a child of the server span's context. */
export function startClientSpan(tracer: Tracer, parent: Context, info: AttemptInfo, startTime?: number): HttpSpan {
  const span = tracer.startSpan(spanName(normalizedMethod(info.method), info.route), { kind: SpanKind.CLIENT, startTime }, parent);
  if (span.isRecording()) {
    const attrs = sharedAttributes(info);
    set(attrs, ATTR.serverAddress, info.serverAddress);
    set(attrs, ATTR.serverPort, info.serverPort);
    attrs[ATTR.attempt] = info.attempt;
    if (info.attempt > 1) attrs[ATTR.resendCount] = info.attempt - 1;
    span.setAttributes(attrs);
  }
  return { span, ctx: trace.setSpan(parent, span), kind: SpanKind.CLIENT };
}

/**
 * Writes `ctx` (normally a client span's) into the headers of the request being
 * forwarded. Trace headers the caller sent are removed first, so the next hop
 * never sees a stale parent in a format the proxy was not configured to write.
 */
export function injectContext(propagator: TextMapPropagator, ctx: Context, headers: HeaderBag): void {
  for (const field of propagator.fields()) if (headers[field] !== undefined) delete headers[field];
  propagator.inject(ctx, headers, defaultTextMapSetter);
}

/** Closes a span with the outcome; status follows the conventions (server: 5xx is an error; client: 4xx too). */
export function endHttpSpan(h: HttpSpan, outcome: Outcome, endTime?: number): void {
  const { span } = h;
  if (!span.isRecording()) return;
  const attrs: Attributes = {};
  set(attrs, ATTR.status, outcome.statusCode);
  set(attrs, ATTR.requestBytes, outcome.requestBytes);
  set(attrs, ATTR.responseBytes, outcome.responseBytes);
  set(attrs, ATTR.peerIdentity, outcome.peerIdentity);
  const threshold = h.kind === SpanKind.SERVER ? 500 : 400;
  if (outcome.error !== undefined) {
    attrs[ATTR.errorType] = outcome.error;
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error });
  } else if (outcome.statusCode !== undefined && outcome.statusCode >= threshold) {
    attrs[ATTR.errorType] = String(outcome.statusCode);
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.setAttributes(attrs);
  span.end(endTime);
}
