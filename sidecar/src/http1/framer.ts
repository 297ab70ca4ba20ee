// A small, strict HTTP/1.1 framer: it parses a message head and decides how
// the body is delimited, then cuts body bytes out of the stream as Buffer
// slices (never copies). Pure: bytes in, a head or body events out. Anything
// it will not frame is an error value; the I/O edge decides what to do (the
// outbound listener hands such a connection to node:http instead). A request
// head parses into the proxy's field list (http/request.ts; it is written back
// from one by request-head.ts); responses keep Node's header object.
import type { IncomingHttpHeaders } from "node:http";
import { originForm } from "../http/request-target.ts";

export type FrameError =
  | "header-overflow"
  | "bare-lf"
  | "nul"
  | "obs-fold"
  | "bad-start-line"
  | "bad-header"
  | "bad-content-length"
  | "smuggling"
  /** A transfer coding besides one final chunked: not implemented (RFC 9112 §6.1), 501 for a request. */
  | "unsupported-transfer-encoding"
  /** A request whose codings do not end in chunked: its length cannot be known (RFC 9112 §6.3), 400. */
  | "chunked-not-final"
  /** An HTTP/1.1 request without Host (RFC 9112 §3.2). */
  | "missing-host"
  /** More than one Host field (RFC 9112 §3.2). */
  | "duplicate-host"
  /** An absolute-form target that names no usable http(s) authority (RFC 9112 §3.2.2, RFC 9110 §4.2). */
  | "bad-target"
  | "bad-chunk"
  | "trailer-overflow";

export type Framing = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" };

export interface RequestHead {
  method: string;
  /** Origin-form (an absolute-form target arrives here rewritten to it), or "*" / authority-form as sent. */
  target: string;
  /** HTTP/1.x minor version. */
  minor: 0 | 1;
  /** Host, or the authority of an absolute-form target (RFC 9112 §3.2.2); "" on HTTP/1.0 without one. */
  authority: string;
  /** [name, value, ...]: lower-case names in wire order, a repeated field once per line (ProxyRequest.fields). */
  fields: string[];
  framing: Framing;
  keepAlive: boolean;
  /** An Expect other than 100-continue, or Upgrade: the caller's ordinary path will not do. */
  unusual: boolean;
  /** Expect: 100-continue; the client waits for the app's 100 (relayed, never answered by the proxy) before its body. */
  expectContinue: boolean;
}

export interface ResponseHead {
  status: number;
  minor: 0 | 1;
  headers: IncomingHttpHeaders;
  framing: Framing;
  keepAlive: boolean;
}

export type HeadResult<T> = { kind: "incomplete" } | { kind: "error"; reason: FrameError } | { kind: "head"; head: T; consumed: number };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Control characters are exactly what these patterns exist to refuse.
/* eslint-disable no-control-regex */
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^\x00-\x20\x7f]+) HTTP\/1\.([01])$/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [^\x00-\x08\x0a-\x1f\x7f]*)?$/;
export const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const BAD_TARGET = /[\x00-\x20\x7f]/;
/* eslint-enable no-control-regex */

/** A header name or method is a token (RFC 9110 §5.6.2). */
export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

/** A field value holds no control character but HTAB (so no CR/LF injection, RFC 9110 §5.5). */
export function isFieldValue(s: string): boolean {
  return !BAD_VALUE.test(s);
}

/** A request target holds no space or control character. */
export function isRequestTarget(s: string): boolean {
  return !BAD_TARGET.test(s);
}

const DIGITS = /^\d{1,15}$/;
export const HEX = /^[0-9a-fA-F]{1,15}$/;

/** Where the head ends (index after CRLFCRLF), "incomplete", or an error; checks size, bare LF and NUL. */
function headEnd(buf: Buffer, start: number, maxBytes: number): number | "incomplete" | FrameError {
  const end = buf.indexOf("\r\n\r\n", start, "latin1");
  const limit = end < 0 ? buf.length : end;
  if (limit - start > maxBytes) return "header-overflow";
  // Bare LF and NUL are refused outright (RFC 9112 §2.2 allows refusing; a lenient parser is how smuggling starts).
  for (let i = buf.indexOf(10, start); i >= 0 && i < limit; i = buf.indexOf(10, i + 1)) if (i === start || buf[i - 1] !== 13) return "bare-lf";
  if (buf.subarray(start, limit).indexOf(0) >= 0) return "nul";
  return end < 0 ? "incomplete" : end + 4;
}

/**
 * Reads header field lines (RFC 9112 §5), handing each to `add` with its
 * lower-case name and trimmed value; the one place field lines are checked.
 * `add` is a module function and `into` its target, so a head costs no closure.
 */
function readFieldLines<T>(lines: readonly string[], from: number, into: T, add: (into: T, name: string, value: string) => void): FrameError | undefined {
  for (let i = from; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.length === 0) continue;
    const c = line.charCodeAt(0);
    // Obsolete line folding is refused, not unfolded (RFC 9112 §5.2 allows either).
    if (c === 32 || c === 9) return "obs-fold";
    const colon = line.indexOf(":");
    if (colon <= 0) return "bad-header";
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return "bad-header";
    const value = line.slice(colon + 1).trim();
    if (BAD_VALUE.test(value)) return "bad-header";
    add(into, name.toLowerCase(), value);
  }
  return undefined;
}

function addField(into: string[], name: string, value: string): void {
  into.push(name, value);
}

/** Node's IncomingHttpHeaders shape: set-cookie an array, other repeats joined with ", ". */
function addHeader(into: IncomingHttpHeaders, key: string, value: string): void {
  const prev = into[key];
  if (prev === undefined) into[key] = key === "set-cookie" ? [value] : value;
  else if (Array.isArray(prev)) prev.push(value);
  else into[key] = `${prev}, ${value}`;
}

/** Header lines as a field list: lower-case names, values trimmed, in order. */
function parseFieldLines(lines: readonly string[], from: number, into: string[]): FrameError | undefined {
  return readFieldLines(lines, from, into, addField);
}

/**
 * A header object with no prototype, as node:http's own: a field named
 * "constructor" or "__proto__" is then just a field, not Object.prototype's.
 */
export function headerObject(): IncomingHttpHeaders {
  return Object.create(null) as IncomingHttpHeaders;
}

/** Header lines into Node's IncomingHttpHeaders shape (lower-case names; set-cookie an array, others joined). */
export function parseHeaderLines(lines: readonly string[], from: number, into: IncomingHttpHeaders): FrameError | undefined {
  return readFieldLines(lines, from, into, addHeader);
}

function contentLength(value: string): number | undefined {
  // Repeated (or comma-joined) Content-Length values must all agree (RFC 9110 §8.6).
  let length: number | undefined;
  for (const part of value.split(",")) {
    const p = part.trim();
    if (!DIGITS.test(p)) return undefined;
    const n = Number(p);
    if (length !== undefined && n !== length) return undefined;
    length = n;
  }
  return length;
}

function hasToken(value: string | string[] | undefined, token: string): boolean {
  if (typeof value !== "string") return false;
  for (const part of value.split(",")) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/**
 * A Transfer-Encoding other than exactly "chunked" (repeated fields joined).
 * The proxy decodes no other coding, and one it cannot decode must not be
 * passed on as if chunked were all there was (the next hop would read the
 * coded bytes as the body). A request whose list does not end in chunked has
 * no knowable length: 400 (RFC 9112 §6.3). One that does, with other codings
 * or chunked twice, names codings not implemented here: 501 (RFC 9112 §6.1).
 */
export function transferCodingError(te: string): FrameError {
  const comma = te.lastIndexOf(",");
  return te.slice(comma + 1).trim().toLowerCase() === "chunked" ? "unsupported-transfer-encoding" : "chunked-not-final";
}

/**
 * Body framing from Transfer-Encoding / Content-Length (each with repeated
 * fields joined by commas); both present is refused (request smuggling).
 * Any Transfer-Encoding but a single chunked is refused, for a response too:
 * running a gzip-coded body to close and relaying it without its coding
 * would hand the client bytes it cannot read.
 */
function bodyFraming(te: string | string[] | undefined, cl: string | string[] | undefined, otherwise: Framing): Framing | FrameError {
  if (te !== undefined && cl !== undefined) return "smuggling";
  if (typeof te === "string") return te.trim().toLowerCase() === "chunked" ? { kind: "chunked" } : transferCodingError(te);
  if (typeof cl === "string") {
    const n = contentLength(cl);
    if (n === undefined) return "bad-content-length";
    return n === 0 ? { kind: "none" } : { kind: "length", length: n };
  }
  return otherwise;
}

export function parseRequestHead(buf: Buffer, maxBytes: number): HeadResult<RequestHead> {
  const end = headEnd(buf, 0, maxBytes);
  if (end === "incomplete") return { kind: "incomplete" };
  if (typeof end === "string") return { kind: "error", reason: end };
  const lines = buf.toString("latin1", 0, end - 4).split("\r\n");
  const m = REQUEST_LINE.exec(lines[0] ?? "");
  if (!m) return { kind: "error", reason: "bad-start-line" };
  const fields: string[] = [];
  const bad = parseFieldLines(lines, 1, fields);
  if (bad) return { kind: "error", reason: bad };
  // The fields framing and routing read, repeated ones joined as a list (RFC 9110 §5.3).
  let te: string | undefined;
  let cl: string | undefined;
  let connection: string | undefined;
  let host: string | undefined;
  let hosts = 0;
  let unusual = false;
  let expectContinue = false;
  for (let i = 0; i < fields.length; i += 2) {
    const value = fields[i + 1] as string;
    switch (fields[i]) {
      case "transfer-encoding":
        te = te === undefined ? value : `${te}, ${value}`;
        break;
      case "content-length":
        cl = cl === undefined ? value : `${cl}, ${value}`;
        break;
      case "connection":
        connection = connection === undefined ? value : `${connection}, ${value}`;
        break;
      case "host":
        host ??= value;
        hosts++;
        break;
      case "expect":
        // 100-continue is the app's to answer, so it is forwarded; any other expectation node:http refuses with 417.
        if (value.toLowerCase() === "100-continue") expectContinue = true;
        else unusual = true;
        break;
      case "upgrade":
        unusual = true;
        break;
    }
  }
  const framing = bodyFraming(te, cl, { kind: "none" });
  if (typeof framing === "string") return { kind: "error", reason: framing };
  // Several Content-Length values that agree go on as one (RFC 9112 §6.3, RFC 9110 §8.6), not as "5, 5".
  if (cl !== undefined && cl.includes(",")) oneContentLength(fields, framing.kind === "length" ? framing.length : 0);
  // A second Host makes the authority ambiguous: refused, as nginx does (RFC 9112 §3.2).
  if (hosts > 1) return { kind: "error", reason: "duplicate-host" };
  const minor = m[3] === "1" ? 1 : 0;
  let target = m[2] as string;
  let authority = host;
  const absolute = originForm(target);
  if (absolute === "bad-target") return { kind: "error", reason: absolute };
  if (absolute) {
    // The target's authority is the request's, whatever Host says (RFC 9112 §3.2.2).
    authority = absolute.authority;
    target = absolute.target;
  } else if (host === undefined && minor === 1) {
    return { kind: "error", reason: "missing-host" };
  }
  const keepAlive = minor === 1 ? !hasToken(connection, "close") : hasToken(connection, "keep-alive");
  unusual ||= hasToken(connection, "upgrade");
  return { kind: "head", head: { method: m[1] as string, target, minor, authority: authority ?? "", fields, framing, keepAlive, unusual, expectContinue }, consumed: end };
}

/** The field list's Content-Length lines become one, with the agreed value. */
function oneContentLength(fields: string[], length: number): void {
  let first = -1;
  let out = 0;
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === "content-length") {
      if (first >= 0) continue;
      first = out;
    }
    fields[out] = fields[i] as string;
    fields[out + 1] = fields[i + 1] as string;
    out += 2;
  }
  fields.length = out;
  fields[first + 1] = String(length);
}

/** A response head; `method` is the request's (a HEAD response has no body whatever it says). */
export function parseResponseHead(buf: Buffer, maxBytes: number, method: string): HeadResult<ResponseHead> {
  const end = headEnd(buf, 0, maxBytes);
  if (end === "incomplete") return { kind: "incomplete" };
  if (typeof end === "string") return { kind: "error", reason: end };
  const lines = buf.toString("latin1", 0, end - 4).split("\r\n");
  const m = STATUS_LINE.exec(lines[0] ?? "");
  if (!m) return { kind: "error", reason: "bad-start-line" };
  const headers = headerObject();
  const bad = parseHeaderLines(lines, 1, headers);
  if (bad) return { kind: "error", reason: bad };
  const status = Number(m[2]);
  const minor = m[1] === "1" ? 1 : 0;
  const noBody = method === "HEAD" || status < 200 || status === 204 || status === 304;
  const cl = headers["content-length"];
  let framing = bodyFraming(headers["transfer-encoding"], cl, { kind: "close" });
  if (typeof framing === "string") {
    // A response without a body may name the codings its GET would have had (RFC 9110 §9.3.2): nothing to decode.
    if (!noBody || (framing !== "unsupported-transfer-encoding" && framing !== "chunked-not-final")) return { kind: "error", reason: framing };
    framing = { kind: "none" };
  }
  if (noBody) framing = { kind: "none" };
  // Agreeing repeats are relayed as one value (RFC 9110 §8.6), not as the list the header object joined.
  if (typeof cl === "string" && cl.includes(",")) headers["content-length"] = String(contentLength(cl));
  const connection = headers.connection;
  const keepAlive = framing.kind !== "close" && (minor === 1 ? !hasToken(connection, "close") : hasToken(connection, "keep-alive"));
  return { kind: "head", head: { status, minor, headers, framing, keepAlive }, consumed: end };
}

const REASONS: Record<number, string> = { 200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found", 304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout", 429: "Too Many Requests", 431: "Request Header Fields Too Large", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout" };

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? "Unknown";
}

/** Header names and values that may go on an HTTP/1.1 wire (no CR/LF injection). */
export function headerLines(headers: Readonly<Record<string, string | string[] | number | undefined>>, skip: ReadonlySet<string>): string | undefined {
  let out = "";
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 || skip.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (!TOKEN.test(name)) return undefined;
    if (Array.isArray(value)) {
      for (const v of value) {
        if (BAD_VALUE.test(v)) return undefined;
        out += `${name}: ${v}\r\n`;
      }
    } else {
      const v = String(value);
      if (BAD_VALUE.test(v)) return undefined;
      out += `${name}: ${v}\r\n`;
    }
  }
  return out;
}
