// The proxy's one request representation, whichever wire it arrived on: the
// HTTP/1.1 framer's parsed head and node:http2's incoming header list both
// become a ProxyRequest, and the HTTP/1.1 request head (http1/request-head.ts)
// and the HTTP/2 request headers (http/headers.ts) are both written from it. A
// request is converted only where the protocol really changes; an HTTP/1.1
// request to an HTTP/1.1 peer never takes the shape of an HTTP/2 one.
//
// Fields are one flat list, [name, value, name, value, ...], as they arrived:
// names lower-case, in order, a repeated field once per line. A list keeps
// what an object loses (order across names, duplicates), costs one array
// instead of a dictionary per request, and is what node:http2 hands in and
// takes back anyway. Lookups scan it: a request has a dozen fields, and the
// proxy looks up only a few of them.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";

export interface ProxyRequest {
  readonly method: string;
  /** Host (HTTP/1.1) or :authority (HTTP/2). */
  readonly authority: string;
  readonly path: string;
  /** [name, value, ...] in arrival order; HTTP/2 pseudo-header fields may lead (writers skip every name starting with ':'). */
  readonly fields: readonly string[];
  /**
   * Every name is a token and no value holds a control character: the request
   * passed Weft's HTTP/1.1 framer, so writing it onto an HTTP/1.1 wire needs no
   * second look. False for anything else (an HTTP/2 stream, node:http).
   */
  readonly fieldsChecked: boolean;
  readonly hasBody: boolean;
  readonly body: Readable;
  /**
   * The body may end in trailer fields (an HTTP/1.1 chunked body): a next hop
   * that must say so before the body (HTTP/2's waitForTrailers) prepares only then.
   */
  readonly mayHaveTrailers: boolean;
  /** The trailer fields the body ended with, once it has ended; undefined before, and when it had none. */
  readonly trailers: IncomingHttpHeaders | undefined;
}

/**
 * The fields one hop sends: the request's own, or an observer's edited copy
 * of them, plus the one field this proxy adds (weft-proto towards the peer
 * proxy, weft-client-id towards the app), or none (a plaintext caller has no
 * verified identity to hand the app). Writers strip hop-by-hop and Weft's own
 * fields from `fields` before adding that one.
 */
export interface OutgoingFields {
  readonly fields: readonly string[];
  /** As ProxyRequest.fieldsChecked, for `fields`. */
  readonly checked: boolean;
  /** With addValue, the field added; both absent, nothing is. */
  readonly addName?: string;
  readonly addValue?: string;
}

/** The first value of field `name` (lower-case), if any. */
export function fieldValue(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** Whether the request is a gRPC call (its content type says so). */
export function isGrpcRequest(fields: readonly string[]): boolean {
  const ct = fieldValue(fields, "content-type");
  return ct !== undefined && ct.startsWith("application/grpc");
}

/**
 * The fields in Node's incoming-header shape, for code that looks fields up
 * by name (the request observer): set-cookie an array, cookie joined with
 * "; " (RFC 9113 §8.2.3), any other repeated field joined with ", ".
 */
export function headerRecord(fields: readonly string[]): Record<string, string | string[]> {
  // No prototype: a field named "constructor" must not find Object's.
  const out = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    const prev = out[name];
    if (prev === undefined) out[name] = name === "set-cookie" ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = `${prev}${name === "cookie" ? "; " : ", "}${value}`;
  }
  return out;
}

/** An edited header object back into a field list (numbers as strings, arrays one field per value). */
export function fieldsOf(headers: OutgoingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    // An observer may have written a name in any case; the list's names are lower-case.
    const key = name.toLowerCase();
    if (Array.isArray(value)) for (const v of value) out.push(key, v);
    else out.push(key, String(value));
  }
  return out;
}
