// A small, strict HTTP/1.1 framer: it parses a message head and decides how
// the body is delimited, then cuts body bytes out of the stream as Buffer
// slices (never copies). Pure: bytes in, a head or body events out. Anything
// it will not frame is an error value; the I/O edge decides what to do (the
// outbound listener hands such a connection to node:http instead). A request
// head parses into the proxy's field list (http/request.ts; it is written back
// from one by request-head.ts); responses keep Node's header object.
import type { IncomingHttpHeaders } from "node:http";

export type FrameError =
  | "header-overflow"
  | "bare-lf"
  | "nul"
  | "obs-fold"
  | "bad-start-line"
  | "bad-header"
  | "bad-content-length"
  | "smuggling"
  | "unsupported-transfer-encoding"
  | "bad-chunk"
  | "trailer-overflow";

export type Framing = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" };

export interface RequestHead {
  method: string;
  target: string;
  /** HTTP/1.x minor version. */
  minor: 0 | 1;
  /** The first Host value ("" without one). */
  authority: string;
  /** [name, value, ...]: lower-case names in wire order, a repeated field once per line (ProxyRequest.fields). */
  fields: string[];
  framing: Framing;
  keepAlive: boolean;
  /** Expect or Upgrade present: the caller's ordinary path will not do. */
  unusual: boolean;
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
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
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
const HEX = /^[0-9a-fA-F]{1,15}$/;

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
 * Body framing from Transfer-Encoding / Content-Length (each with repeated
 * fields joined by commas); both present is refused (request smuggling).
 */
function bodyFraming(te: string | string[] | undefined, cl: string | string[] | undefined, otherwise: Framing, chunkedOrClose: boolean): Framing | FrameError {
  if (te !== undefined && cl !== undefined) return "smuggling";
  if (typeof te === "string") {
    if (te.trim().toLowerCase() === "chunked") return { kind: "chunked" };
    // A response may end a coding list without chunked (then it runs to close); a request may not.
    return chunkedOrClose && !hasToken(te, "chunked") ? { kind: "close" } : "unsupported-transfer-encoding";
  }
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
  let unusual = false;
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
        break;
      case "expect":
      case "upgrade":
        unusual = true;
        break;
    }
  }
  const framing = bodyFraming(te, cl, { kind: "none" }, false);
  if (typeof framing === "string") return { kind: "error", reason: framing };
  const minor = m[3] === "1" ? 1 : 0;
  const keepAlive = minor === 1 ? !hasToken(connection, "close") : hasToken(connection, "keep-alive");
  unusual ||= hasToken(connection, "upgrade");
  return { kind: "head", head: { method: m[1] as string, target: m[2] as string, minor, authority: host ?? "", fields, framing, keepAlive, unusual }, consumed: end };
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
  let framing = bodyFraming(headers["transfer-encoding"], headers["content-length"], { kind: "close" }, true);
  if (typeof framing === "string") return { kind: "error", reason: framing };
  if (noBody) framing = { kind: "none" };
  const connection = headers.connection;
  const keepAlive = framing.kind !== "close" && (minor === 1 ? !hasToken(connection, "close") : hasToken(connection, "keep-alive"));
  return { kind: "head", head: { status, minor, headers, framing, keepAlive }, consumed: end };
}

export interface BodyStep {
  /** Bytes of the input taken (the rest belongs to the next message). */
  consumed: number;
  done: boolean;
  error?: FrameError;
  trailers?: IncomingHttpHeaders;
}

// Chunked decoding states.
const SIZE = 0;
const DATA = 1;
const DATA_END = 2;
const TRAILER = 3;

/**
 * Cuts one message body out of a byte stream, whatever its framing. push()
 * hands each piece of body data to onData as a slice of the input.
 */
export class BodyReader {
  readonly #framing: Framing;
  readonly #maxLineBytes: number;
  #remaining: number;
  #state = SIZE;
  #line = "";
  #trailerLines: string[] = [];
  #trailerBytes = 0;
  #done: boolean;

  constructor(framing: Framing, maxLineBytes = 8 * 1024) {
    this.#framing = framing;
    this.#maxLineBytes = maxLineBytes;
    this.#remaining = framing.kind === "length" ? framing.length : 0;
    this.#done = framing.kind === "none";
  }

  get done(): boolean {
    return this.#done;
  }

  /** The peer closed the stream: fine only for a close-delimited body. */
  end(): BodyStep {
    if (this.#framing.kind === "close") this.#done = true;
    return { consumed: 0, done: this.#done, error: this.#done ? undefined : "bad-chunk" };
  }

  push(buf: Buffer, onData: (chunk: Buffer) => void): BodyStep {
    if (this.#done) return { consumed: 0, done: true };
    const kind = this.#framing.kind;
    if (kind === "close") {
      if (buf.length > 0) onData(buf);
      return { consumed: buf.length, done: false };
    }
    if (kind === "length") {
      const take = Math.min(this.#remaining, buf.length);
      if (take > 0) onData(take === buf.length ? buf : buf.subarray(0, take));
      this.#remaining -= take;
      this.#done = this.#remaining === 0;
      return { consumed: take, done: this.#done };
    }
    return this.#chunked(buf, onData);
  }

  #chunked(buf: Buffer, onData: (chunk: Buffer) => void): BodyStep {
    let i = 0;
    while (i < buf.length) {
      if (this.#state === DATA) {
        const take = Math.min(this.#remaining, buf.length - i);
        onData(buf.subarray(i, i + take));
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = DATA_END;
        continue;
      }
      // Line states: size line, CRLF after data, trailer lines.
      const lf = buf.indexOf(10, i);
      const stop = lf < 0 ? buf.length : lf + 1;
      this.#line += buf.toString("latin1", i, stop);
      i = stop;
      if (this.#line.length > this.#maxLineBytes + 2) return this.#fail(i, this.#state === TRAILER ? "trailer-overflow" : "bad-chunk");
      if (lf < 0) break;
      if (this.#line.length < 2 || this.#line.charCodeAt(this.#line.length - 2) !== 13) return this.#fail(i, "bare-lf");
      const line = this.#line.slice(0, -2);
      this.#line = "";
      if (line.includes("\0")) return this.#fail(i, "nul");
      if (this.#state === DATA_END) {
        if (line.length !== 0) return this.#fail(i, "bad-chunk");
        this.#state = SIZE;
      } else if (this.#state === SIZE) {
        const semi = line.indexOf(";");
        const size = (semi < 0 ? line : line.slice(0, semi)).replace(/[ \t]+$/, "");
        if (!HEX.test(size) || BAD_VALUE.test(line)) return this.#fail(i, "bad-chunk");
        this.#remaining = parseInt(size, 16);
        this.#state = this.#remaining === 0 ? TRAILER : DATA;
      } else if (line.length === 0) {
        this.#done = true;
        if (this.#trailerLines.length === 0) return { consumed: i, done: true };
        const trailers = headerObject();
        const bad = parseHeaderLines(this.#trailerLines, 0, trailers);
        if (bad) return this.#fail(i, bad);
        return { consumed: i, done: true, trailers };
      } else {
        this.#trailerBytes += line.length;
        if (this.#trailerBytes > this.#maxLineBytes) return this.#fail(i, "trailer-overflow");
        this.#trailerLines.push(line);
      }
    }
    return { consumed: i, done: false };
  }

  #fail(consumed: number, error: FrameError): BodyStep {
    this.#done = true;
    return { consumed, done: true, error };
  }
}

/** HTTP/1.1 reason phrases the proxy writes; others get a generic one (clients ignore it). */
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
