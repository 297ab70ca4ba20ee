// Reads a tcpdump capture (classic pcap, Ethernet) and decides, per TCP flow
// direction, whether every payload byte belongs to a well-formed TLS record:
// the proof that nothing crossed a link in plaintext.
import { readFileSync } from "node:fs";

export interface FlowVerdict {
  /** "src:port > dst:port" */
  flow: string;
  bytes: number;
  tlsRecords: number;
  /** Record content types seen, in order of first appearance (20 CCS, 21 alert, 22 handshake, 23 data). */
  contentTypes: number[];
  isTls: boolean;
  /** Why the stream is not TLS, with the first bytes that broke it. */
  reason?: string;
}

interface Segment {
  seq: number;
  payload: Buffer;
}

interface Flow {
  isn?: number;
  segments: Segment[];
}

function ipv4(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

function ipv6(buf: Buffer, off: number): string {
  const g: string[] = [];
  for (let i = 0; i < 8; i++) g.push(buf.readUInt16BE(off + i * 2).toString(16));
  return g.join(":");
}

/** TCP segments per direction, from a pcap file's bytes. */
export function tcpFlows(file: Buffer): Map<string, Flow> {
  const magic = file.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && file.readUInt32BE(0) !== 0xa1b2c3d4 && file.readUInt32BE(0) !== 0xa1b23c4d) throw new Error("not a pcap file");
  const u32 = (off: number) => (le ? file.readUInt32LE(off) : file.readUInt32BE(off));
  const linktype = u32(20);
  if (linktype !== 1) throw new Error(`unsupported link type ${linktype} (expected Ethernet)`);
  const flows = new Map<string, Flow>();
  let off = 24;
  while (off + 16 <= file.length) {
    const incl = u32(off + 8);
    const pkt = file.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (pkt.length < 14) continue;
    const ethertype = pkt.readUInt16BE(12);
    let l4 = 0;
    let end = pkt.length;
    let src = "";
    let dst = "";
    if (ethertype === 0x0800) {
      const ihl = (pkt[14]! & 0x0f) * 4;
      if (pkt[14 + 9] !== 6) continue;
      end = Math.min(pkt.length, 14 + pkt.readUInt16BE(14 + 2));
      src = ipv4(pkt, 14 + 12);
      dst = ipv4(pkt, 14 + 16);
      l4 = 14 + ihl;
    } else if (ethertype === 0x86dd) {
      if (pkt[14 + 6] !== 6) continue; // extension headers are not expected on these links
      end = Math.min(pkt.length, 14 + 40 + pkt.readUInt16BE(14 + 4));
      src = ipv6(pkt, 14 + 8);
      dst = ipv6(pkt, 14 + 24);
      l4 = 14 + 40;
    } else {
      continue;
    }
    if (l4 + 20 > end) continue;
    const sport = pkt.readUInt16BE(l4);
    const dport = pkt.readUInt16BE(l4 + 2);
    const seq = pkt.readUInt32BE(l4 + 4);
    const dataOff = (pkt[l4 + 12]! >> 4) * 4;
    const syn = (pkt[l4 + 13]! & 0x02) !== 0;
    const key = `${src}:${sport} > ${dst}:${dport}`;
    const flow = flows.get(key) ?? { segments: [] };
    flows.set(key, flow);
    if (syn) flow.isn = seq;
    const payload = pkt.subarray(l4 + dataOff, end);
    if (payload.length > 0) flow.segments.push({ seq, payload: Buffer.from(payload) });
  }
  return flows;
}

/** The bytes of one direction in sequence order, retransmissions and overlaps dropped. */
export function reassemble(flow: Flow): Buffer {
  const base = flow.isn === undefined ? (flow.segments[0]?.seq ?? 0) : (flow.isn + 1) >>> 0;
  const rel = flow.segments.map((s) => ({ at: (s.seq - base) >>> 0, payload: s.payload })).sort((a, b) => a.at - b.at);
  const parts: Buffer[] = [];
  let next = rel[0]?.at ?? 0;
  for (const s of rel) {
    const endAt = s.at + s.payload.length;
    if (endAt <= next) continue;
    parts.push(s.payload.subarray(Math.max(0, next - s.at)));
    next = endAt;
  }
  return Buffer.concat(parts);
}

/** Walks TLS records; the stream is TLS only if records tile it exactly. */
export function checkTls(stream: Buffer): Pick<FlowVerdict, "tlsRecords" | "contentTypes" | "isTls" | "reason"> {
  const types: number[] = [];
  let records = 0;
  let off = 0;
  while (off < stream.length) {
    if (off + 5 > stream.length) return { tlsRecords: records, contentTypes: types, isTls: false, reason: `truncated record header at ${off}` };
    const type = stream[off]!;
    const major = stream[off + 1]!;
    const minor = stream[off + 2]!;
    const len = stream.readUInt16BE(off + 3);
    if (type < 20 || type > 23 || major !== 3 || minor > 4 || len > 16384 + 2048) {
      const sample = stream.subarray(off, off + 32);
      return { tlsRecords: records, contentTypes: types, isTls: false, reason: `not a TLS record at byte ${off}: ${JSON.stringify(sample.toString("latin1"))}` };
    }
    if (!types.includes(type)) types.push(type);
    records++;
    off += 5 + len;
  }
  if (off > stream.length) return { tlsRecords: records, contentTypes: types, isTls: false, reason: "last record is cut short" };
  return { tlsRecords: records, contentTypes: types, isTls: true };
}

export function analyzeCapture(path: string): FlowVerdict[] {
  const out: FlowVerdict[] = [];
  for (const [flow, f] of tcpFlows(readFileSync(path))) {
    const stream = reassemble(f);
    if (stream.length === 0) continue;
    out.push({ flow, bytes: stream.length, ...checkTls(stream) });
  }
  return out;
}
