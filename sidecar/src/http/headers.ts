// Header translation for the HTTP/2 side: a ProxyRequest's fields written as
// HTTP/2 request headers, the fields an observer may edit, and response
// headers for the next hop. One pass over the fields; nothing else copies
// headers per request.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { OutgoingFields, ProxyRequest } from "./request.ts";

/**
 * Connection-specific headers (RFC 9110 §7.6.1, RFC 9113 §8.2.2) never forwarded across a hop. Expect is
 * end to end (RFC 9110 §10.1.1): the app answers 100-continue, and HTTP/2 carries it (RFC 9113 §8.1).
 */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "http2-settings"]);

declare module "http2" {
  interface ClientSessionOptions {
    /**
     * False: node:http2 sends a field the client repeated (h2RequestHeaders
     * keeps repeats) instead of throwing. Node reads it on client sessions as
     * on servers; @types/node declares it for servers only.
     */
    strictSingleValueFields?: boolean;
  }
}

/**
 * Fields a request's trailer section does not carry on besides hop-by-hop ones: framing, routing and
 * what must be known before the body (RFC 9110 §6.5.1), which a next hop might otherwise act on.
 */
const NOT_IN_TRAILERS = new Set([...HOP_BY_HOP, "content-length", "content-type", "content-encoding", "content-range", "trailer", "te", "expect", "authorization", "cookie"]);

/** A request body's trailer fields for the next hop, without what a trailer section may not carry and Weft's own fields; undefined if none is left. */
export function forwardedTrailers(trailers: IncomingHttpHeaders | undefined): OutgoingHttpHeaders | undefined {
  if (trailers === undefined) return undefined;
  let out: OutgoingHttpHeaders | undefined;
  for (const name in trailers) {
    if (name.charCodeAt(0) === 58 || NOT_IN_TRAILERS.has(name) || name.startsWith("weft-")) continue;
    out ??= {};
    out[name] = trailers[name];
  }
  return out;
}

/**
 * Ends an HTTP/2 request stream opened with waitForTrailers: the trailers, or an empty
 * block when there are none or node refuses one of them (the body is complete either way).
 */
export function sendRequestTrailers(stream: { sendTrailers(headers: OutgoingHttpHeaders): void }, trailers: IncomingHttpHeaders | undefined): void {
  try {
    stream.sendTrailers(forwardedTrailers(trailers) ?? {});
    return;
  } catch {
    // Fall through to the empty block.
  }
  try {
    stream.sendTrailers({});
  } catch {
    // The stream is already gone: its close reports the request.
  }
}

/** Headers Weft itself sets on the hop between proxies; stripped from anything an app sends. */
export const WEFT_PROTO = "weft-proto";
export const WEFT_CLIENT_ID = "weft-client-id";
/**
 * The app's own `Connection: close`, carried across the proxies' hop (which
 * is pooled, or HTTP/2, and cannot carry a Connection field) to the client's
 * proxy, which turns it back into `connection: close` and closes after the response.
 */
export const WEFT_CONNECTION = "weft-connection";

/**
 * HTTP/2 request headers, as the raw list node:http2 takes: pseudo-headers
 * first, then `out`'s fields in order without hop-by-hop and Weft's own
 * fields, then the field the proxy adds (if any). Content-Length goes once (a repeat
 * that agreed on HTTP/1.1 is a stream error in HTTP/2), TE once and only as
 * "trailers" (the one value HTTP/2 allows; gRPC needs it). Sessions that send
 * these are created with strictSingleValueFields off, so a field the client
 * repeated reaches the peer repeated instead of failing the request.
 */
export function h2RequestHeaders(req: ProxyRequest, out: OutgoingFields): string[] {
  const list = [":method", req.method, ":path", req.path, ":scheme", "http", ":authority", req.authority];
  const fields = out.fields;
  let length = false;
  let te = false;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    if (name.charCodeAt(0) === 58 /* ':' */ || HOP_BY_HOP.has(name) || name.startsWith("weft-")) continue;
    const value = fields[i + 1] as string;
    if (name === "te") {
      if (!te && value.includes("trailers")) {
        te = true;
        list.push("te", "trailers");
      }
      continue;
    }
    if (name === "content-length") {
      if (length) continue;
      length = true;
    }
    list.push(name, value);
  }
  if (out.addName !== undefined && out.addValue !== undefined) list.push(out.addName, out.addValue);
  return list;
}

/**
 * The fields a request forwards end to end, as an object an observer may edit
 * (add, replace or delete a header) before they are sent: pseudo-headers,
 * hop-by-hop and Weft's own fields left out, a repeated field an array in order.
 */
export function observableHeaders(fields: readonly string[]): OutgoingHttpHeaders {
  // No prototype: a field named "constructor" must not find Object's.
  const out = Object.create(null) as OutgoingHttpHeaders;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    if (name.charCodeAt(0) === 58 || HOP_BY_HOP.has(name) || name.startsWith("weft-")) continue;
    const value = fields[i + 1] as string;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [String(prev), value];
  }
  return out;
}

/** Response headers for the next hop: pseudo-headers and hop-by-hop headers removed. */
export function responseHeaders(headers: IncomingHttpHeaders | http2Headers): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 || HOP_BY_HOP.has(name)) continue;
    out[name] = headers[name];
  }
  return out;
}

/** An HTTP/1.x app's response headers for the next hop: as responseHeaders, its `Connection: close` kept as weft-connection. */
export function appResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out = responseHeaders(headers);
  const connection = headers.connection;
  if (connection !== undefined && connection.split(",").some((t) => t.trim().toLowerCase() === "close")) out[WEFT_CONNECTION] = "close";
  return out;
}

type http2Headers = Record<string, string | string[] | number | undefined>;

/** The status of a gRPC response, when present (trailers, or headers of a trailers-only response). */
export function grpcStatusOf(headers: http2Headers | undefined): number | undefined {
  const value = headers?.["grpc-status"];
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isInteger(n) ? n : undefined;
}
