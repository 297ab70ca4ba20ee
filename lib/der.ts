// A minimal DER writer and bounds-checked reader: just enough ASN.1 for the
// workload-certificate hot path (CSR in, leaf out), which a general ASN.1
// library makes ~50x slower than the signature itself (docs/decisions.md).
// The reader never throws on hostile input: every read returns a Result.
import { fail, ok, type Result } from "./result.ts";

// ---------------------------------------------------------------- writer

function lengthSize(length: number): number {
  if (length < 0x80) return 1;
  let bytes = 0;
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes++;
  return 1 + bytes;
}

/** One TLV; sized first and written into a single allocation (this is the hot path's main cost after the signature). */
export function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  let length = 0;
  for (const c of content) length += c.length;
  const size = lengthSize(length);
  const out = Buffer.allocUnsafe(1 + size + length);
  out[0] = tag;
  if (size === 1) {
    out[1] = length;
  } else {
    out[1] = 0x80 | (size - 1);
    for (let i = size - 1, n = length; i >= 1; i--, n = Math.floor(n / 256)) out[1 + i] = n & 0xff;
  }
  let offset = 1 + size;
  for (const c of content) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

export const seq = (...content: Uint8Array[]): Buffer => tlv(TAG.sequence, ...content);
export const set = (...content: Uint8Array[]): Buffer => tlv(TAG.set, ...content);
export const octetString = (content: Uint8Array): Buffer => tlv(TAG.octetString, content);
export const bitString = (content: Uint8Array, unusedBits = 0): Buffer => tlv(TAG.bitString, Buffer.from([unusedBits]), content);
export const booleanTrue = (): Buffer => Buffer.from([TAG.boolean, 1, 0xff]);
/** [n] EXPLICIT (constructed, context-specific). */
export const explicit = (n: number, ...content: Uint8Array[]): Buffer => tlv(0xa0 | n, ...content);
/** [n] IMPLICIT primitive (context-specific). */
export const implicitPrimitive = (n: number, content: Uint8Array): Buffer => tlv(0x80 | n, content);

/** A non-negative INTEGER from big-endian magnitude bytes (adds the sign byte when needed). */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const bytes = Buffer.from(magnitude.subarray(start));
  return tlv(TAG.integer, (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

export function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const [a = 0, b = 0, ...rest] = parts;
  const out: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const chunk: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    out.push(...chunk);
  }
  return tlv(TAG.oid, Buffer.from(out));
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, UTC. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "") + "Z";
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(TAG.utcTime, Buffer.from(digits.slice(2), "ascii"));
  return tlv(TAG.generalizedTime, Buffer.from(digits, "ascii"));
}

// ---------------------------------------------------------------- reader

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  valueStart: number;
  /** Offset just past the content. */
  end: number;
}

/** Reads the TLV at `offset`, refusing indefinite or non-minimal lengths and anything past `limit`. */
export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Result<Tlv> {
  if (offset + 2 > limit) return fail("der-truncated", "DER: truncated header");
  const tag = buf[offset] ?? 0;
  if ((tag & 0x1f) === 0x1f) return fail("der-unsupported", "DER: multi-byte tags are not supported");
  const first = buf[offset + 1] ?? 0;
  let length = first;
  let valueStart = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) return fail("der-bad-length", "DER: indefinite or oversized length");
    if (offset + 2 + count > limit) return fail("der-truncated", "DER: truncated length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (buf[offset + 2 + i] ?? 0);
    if (length < 0x80 || (buf[offset + 2] ?? 0) === 0) return fail("der-bad-length", "DER: non-minimal length");
    valueStart += count;
  }
  const end = valueStart + length;
  if (end > limit) return fail("der-truncated", "DER: value runs past its container");
  return ok({ tag, start: offset, valueStart, end });
}

/** The TLVs directly inside `parent` (a constructed value), in order. */
export function children(buf: Uint8Array, parent: Tlv): Result<Tlv[]> {
  const out: Tlv[] = [];
  for (let offset = parent.valueStart; offset < parent.end; ) {
    const child = readTlv(buf, offset, parent.end);
    if (!child.ok) return child;
    out.push(child.value);
    offset = child.value.end;
  }
  return ok(out);
}

/** Reads a whole buffer as exactly one TLV with the expected tag. */
export function readOnly(buf: Uint8Array, tag: number): Result<Tlv> {
  const t = readTlv(buf, 0);
  if (!t.ok) return t;
  if (t.value.tag !== tag) return fail("der-unexpected", `DER: expected tag 0x${tag.toString(16)}, got 0x${t.value.tag.toString(16)}`);
  if (t.value.end !== buf.length) return fail("der-trailing", "DER: trailing bytes");
  return t;
}

export function value(buf: Uint8Array, t: Tlv): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + t.valueStart, t.end - t.valueStart);
}

export function whole(buf: Uint8Array, t: Tlv): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + t.start, t.end - t.start);
}

export function decodeOid(bytes: Uint8Array): string {
  const arcs: number[] = [];
  let n = 0;
  for (const byte of bytes) {
    n = n * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(n);
      n = 0;
    }
  }
  const [first = 0, ...rest] = arcs;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...rest].join(".");
}
