// Header translation between HTTP/1.1 and the HTTP/2 hop between proxies.
// One pass over the incoming object; nothing else copies headers per request.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

/** Connection-specific headers (RFC 9110 §7.6.1, RFC 9113 §8.2.2) never forwarded across a hop. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "http2-settings", "expect"]);

/** Headers Weft itself sets on the hop between proxies; stripped from anything an app sends. */
export const WEFT_PROTO = "weft-proto";
export const WEFT_CLIENT_ID = "weft-client-id";

export function isGrpc(headers: IncomingHttpHeaders): boolean {
  const ct = headers["content-type"];
  return typeof ct === "string" && ct.startsWith("application/grpc");
}

/**
 * Headers for an HTTP/2 request built from an HTTP/1.1 or HTTP/2 request:
 * pseudo-headers first, hop-by-hop and Weft's own headers dropped.
 */
export function toH2Request(method: string, path: string, authority: string, headers: IncomingHttpHeaders, extra: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ":method": method, ":path": path, ":scheme": "http", ":authority": authority };
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ':' */ || HOP_BY_HOP.has(name) || name.startsWith("weft-")) continue;
    if (name === "te") {
      // Only "te: trailers" is legal in HTTP/2 (gRPC needs it).
      if (String(headers[name]).includes("trailers")) out.te = "trailers";
      continue;
    }
    out[name] = headers[name];
  }
  for (const name in extra) out[name] = extra[name];
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

type http2Headers = Record<string, string | string[] | number | undefined>;

/** The status of a gRPC response, when present (trailers, or headers of a trailers-only response). */
export function grpcStatusOf(headers: http2Headers | undefined): number | undefined {
  const value = headers?.["grpc-status"];
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isInteger(n) ? n : undefined;
}
