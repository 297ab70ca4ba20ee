// The HTTP/1.1 request head written from the proxy's request representation
// (http/request.ts): the one conversion an HTTP/1.1 hop needs, whether the
// request arrived over HTTP/1.1 (then its fields passed the framer's checks
// and are copied as they are) or as an HTTP/2 stream (then each is checked).
import type { IncomingHttpHeaders } from "node:http";
import { forwardedTrailers } from "../http/headers.ts";
import type { OutgoingFields, ProxyRequest } from "../http/request.ts";
import { headerLines, isFieldValue, isRequestTarget, isToken } from "./framer.ts";

const NOTHING_SKIPPED: ReadonlySet<string> = new Set();

/**
 * Request fields never copied onto an HTTP/1.1 hop (framing and Host are written here; TE means nothing to the next hop).
 * Expect goes on: the app, not a proxy, decides whether it wants the body.
 */
const SKIP_REQUEST = new Set(["host", "connection", "keep-alive", "transfer-encoding", "upgrade", "te", "proxy-connection", "http2-settings"]);

/** The trailer section of a chunked request body ("" for none): dropped whole if a field cannot go on an HTTP/1.1 wire. */
export function trailerLines(trailers: IncomingHttpHeaders | undefined): string {
  const forwarded = forwardedTrailers(trailers);
  return forwarded ? (headerLines(forwarded, NOTHING_SKIPPED) ?? "") : "";
}

/** Whether a request body needs chunked coding on an HTTP/1.1 hop: it has one, and no Content-Length says how long. */
export function chunkedBody(req: ProxyRequest, out: OutgoingFields): boolean {
  if (!req.hasBody) return false;
  const fields = out.fields;
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === "content-length") return false;
  return true;
}

/**
 * An HTTP/1.1 request head (ending in the blank line) from a request and the
 * fields this hop sends: Host from the authority, `out`'s fields in order
 * without hop-by-hop and Weft's own, then the field the proxy adds (if
 * any), then chunked coding when asked. Content-Length goes once; several Cookie fields
 * (HTTP/2 splits them) become one, joined by "; " (RFC 9113 §8.2.3).
 * Undefined when something cannot go on an HTTP/1.1 wire (a name that is no
 * token, a value with CR/LF from an HTTP/2 client): fields the framer parsed
 * were checked already and are not checked again.
 */
export function requestHead(req: ProxyRequest, out: OutgoingFields, chunked: boolean): string | undefined {
  const check = !out.checked;
  if (check && (!isToken(req.method) || !isRequestTarget(req.path) || !isFieldValue(req.authority))) return undefined;
  let head = `${req.method} ${req.path} HTTP/1.1\r\nhost: ${req.authority}\r\n`;
  const fields = out.fields;
  let length = false;
  let cookie = false;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    if (name.charCodeAt(0) === 58 /* ':' */ || SKIP_REQUEST.has(name) || name.startsWith("weft-")) continue;
    let value = fields[i + 1] as string;
    if (name === "content-length") {
      if (length) continue;
      length = true;
    } else if (name === "cookie") {
      if (cookie) continue;
      cookie = true;
      for (let j = i + 2; j < fields.length; j += 2) if (fields[j] === "cookie") value += `; ${fields[j + 1] as string}`;
    }
    if (check && (!isToken(name) || !isFieldValue(value))) return undefined;
    head += `${name}: ${value}\r\n`;
  }
  if (out.addName !== undefined && out.addValue !== undefined) {
    // The added value may come from outside (a peer's SPIFFE id): always checked.
    if (!isFieldValue(out.addValue)) return undefined;
    head += `${out.addName}: ${out.addValue}\r\n`;
  }
  return chunked ? `${head}transfer-encoding: chunked\r\n\r\n` : `${head}\r\n`;
}
