// Protocol detection from the first bytes a client sends. Pure: the I/O shell
// feeds what it has read so far and, after a short timeout, asks
// classifyAtTimeout (a server-speaks-first client sends nothing, so it never
// stalls).
//
// Anything that could be an HTTP/1.x request line counts as HTTP, whatever its
// method (PROPFIND, CONNECT, ones not registered) and after empty lines (RFC
// 9112 §2.2 lets a server ignore them): a request the proxy does not parse
// reaches the app with whatever headers its sender wrote, weft-client-id
// included, so erring towards HTTP is the safe side.

export type DetectedProtocol = "http1" | "h2" | "tls" | "opaque";
export type Detection = { kind: "done"; protocol: DetectedProtocol } | { kind: "need-more" };

export const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

const VERSION = Buffer.from("HTTP/1.", "latin1");
/** Longer than any method a server knows; a longer token is not a request line. */
const MAX_METHOD = 32;
/** A request line still unfinished after this many bytes is left to the HTTP parser to refuse, not passed on unread. */
const MAX_LINE = 8192;
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;

function isPrefixOf(data: Buffer, full: Buffer): boolean {
  const n = Math.min(data.length, full.length);
  return data.subarray(0, n).equals(full.subarray(0, n));
}

/** tchar (RFC 9110 §5.6.2). */
function isTchar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));
}

const NEED_MORE: Detection = { kind: "need-more" };
const done = (protocol: DetectedProtocol): Detection => ({ kind: "done", protocol });

export function detectProtocol(data: Buffer): Detection {
  if (data.length === 0) return NEED_MORE;
  // TLS record: handshake (0x16), major version 3.
  if (data[0] === 0x16) {
    if (data.length < 3) return NEED_MORE;
    return done(data[1] === 0x03 && (data[2] ?? 9) <= 0x04 ? "tls" : "opaque");
  }
  if (isPrefixOf(data, H2_PREFACE)) return data.length >= H2_PREFACE.length ? done("h2") : NEED_MORE;
  return requestLine(data);
}

/** method SP request-target SP "HTTP/1." (RFC 9112 §3), after any empty lines. */
function requestLine(data: Buffer): Detection {
  let i = 0;
  while (i < data.length && (data[i] === CR || data[i] === LF)) i++;
  if (i === data.length) return i > MAX_LINE ? done("opaque") : NEED_MORE;
  const method = i;
  while (i < data.length && isTchar(data[i] as number)) i++;
  if (i - method > MAX_METHOD) return done("opaque");
  if (i === data.length) return NEED_MORE;
  if (i === method || data[i] !== SP) return done("opaque");
  i++;
  while (i < data.length && (data[i] as number) > SP && data[i] !== 0x7f) i++;
  if (i === data.length) return i > MAX_LINE ? done("http1") : NEED_MORE;
  if (data[i] !== SP) return done("opaque");
  const version = data.subarray(i + 1, i + 1 + VERSION.length);
  if (!isPrefixOf(version, VERSION)) return done("opaque");
  return version.length < VERSION.length ? NEED_MORE : done("http1");
}

/**
 * What to make of the bytes read when the detection timeout passes. Nothing:
 * a server-speaks-first protocol. The start of a request line or of the h2
 * preface: HTTP, so a client that pauses mid-line cannot slip a request past
 * the parser by waiting for the timeout.
 */
export function classifyAtTimeout(data: Buffer | undefined): DetectedProtocol {
  if (!data || data.length === 0) return "opaque";
  const detection = detectProtocol(data);
  if (detection.kind === "done") return detection.protocol;
  if (data[0] === 0x16) return "opaque";
  return isPrefixOf(data, H2_PREFACE) ? "h2" : "http1";
}
