import assert from "node:assert/strict";
import { checkTls, reassemble } from "./pcap.ts";

const record = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type, 3, 3, body.length >> 8, body.length & 0xff]), body]);

describe("pcap TLS check", () => {
  it("accepts a stream tiled exactly by TLS records", () => {
    const stream = Buffer.concat([record(22, Buffer.alloc(40)), record(20, Buffer.alloc(1)), record(23, Buffer.alloc(300))]);
    assert.deepEqual(checkTls(stream), { tlsRecords: 3, contentTypes: [22, 20, 23], isTls: true });
  });

  it("rejects plaintext, and a stream where plaintext follows TLS", () => {
    assert.equal(checkTls(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).isTls, false);
    const mixed = Buffer.concat([record(23, Buffer.alloc(10)), Buffer.from("HTTP/1.1 200 OK\r\n")]);
    const verdict = checkTls(mixed);
    assert.equal(verdict.isTls, false);
    assert.match(verdict.reason ?? "", /HTTP\/1\.1 200/);
  });

  it("rejects a stream whose last record is cut short", () => {
    assert.equal(checkTls(record(23, Buffer.alloc(100)).subarray(0, 50)).isTls, false);
  });

  it("reassembles segments in sequence order, dropping retransmissions and overlaps", () => {
    const isn = 0xfffffff0; // sequence numbers wrap inside this flow
    const data = Buffer.from("abcdefghijklmnopqrstuvwxyz");
    const seg = (from: number, to: number) => ({ seq: (isn + 1 + from) >>> 0, payload: data.subarray(from, to) });
    const flow = { isn, segments: [seg(10, 20), seg(0, 10), seg(5, 15), seg(20, 26), seg(10, 20)] };
    assert.equal(reassemble(flow).toString(), data.toString());
  });
});
