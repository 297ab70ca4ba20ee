// Protocol detection from the first bytes a client sends. Pure: the I/O shell
// feeds what it has read so far and gives up (treats the stream as opaque)
// after a short timeout, so server-speaks-first protocols never stall.

export type DetectedProtocol = "http1" | "h2" | "tls" | "opaque";
export type Detection = { kind: "done"; protocol: DetectedProtocol } | { kind: "need-more" };

export const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

// Methods we route as HTTP/1.x. CONNECT is absent on purpose: it is a tunnel and
// is proxied as opaque TCP. PRI is the start of the h2 preface, handled first.
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"].map((m) => Buffer.from(`${m} `, "latin1"));

const MAX_METHOD = Math.max(...METHODS.map((m) => m.length));

function isPrefixOf(data: Buffer, full: Buffer): boolean {
  const n = Math.min(data.length, full.length);
  return data.subarray(0, n).equals(full.subarray(0, n));
}

export function detectProtocol(data: Buffer): Detection {
  if (data.length === 0) return { kind: "need-more" };
  // TLS record: handshake (0x16), major version 3.
  if (data[0] === 0x16) {
    if (data.length < 3) return { kind: "need-more" };
    return { kind: "done", protocol: data[1] === 0x03 && (data[2] ?? 9) <= 0x04 ? "tls" : "opaque" };
  }
  if (isPrefixOf(data, H2_PREFACE)) {
    return data.length >= H2_PREFACE.length ? { kind: "done", protocol: "h2" } : { kind: "need-more" };
  }
  let partial = false;
  for (const method of METHODS) {
    if (isPrefixOf(data, method)) {
      if (data.length >= method.length) return { kind: "done", protocol: "http1" };
      partial = true;
    }
  }
  if (partial && data.length < MAX_METHOD) return { kind: "need-more" };
  return { kind: "done", protocol: "opaque" };
}
