import { strict as assert } from "node:assert";
import { IntervalIndex, attributeTail, parseFortioAccessLog, parseRuntimeStats, type RequestRecord } from "../../bench/lib-proxy-attribution.ts";
import { parseSmapsRollup } from "../../bench/lib-proxy-pss.ts";
import { cpuBusyTicks, parseCpuList } from "../../bench/lib-proxy-measure.ts";

describe("the proxy bench's tail attribution and memory figures", () => {
  it("answers interval overlap for touching, nested, long-before and disjoint intervals", () => {
    const idx = new IntervalIndex([[10, 12], [0, 100], [200, 201]].map(([a, b]) => [a!, b!]));
    assert.equal(idx.overlaps(50, 60), true, "inside a long interval that started first");
    assert.equal(idx.overlaps(150, 199), false);
    assert.equal(idx.overlaps(201, 300), true, "touching at the end");
    assert.equal(idx.overlaps(-5, -1), false);
    assert.equal(new IntervalIndex([]).overlaps(0, 1), false);
  });

  it("reads fortio's per-request log (start in epoch ns, latency in s) and skips failures and torn lines", () => {
    const text = [
      '{"latency":0.0025,"timestamp":1796659929714906701,"thread":1,"iter":0,"ok":true,"details":"200"}',
      '{"latency":0.1,"timestamp":1796659929714906701,"thread":1,"iter":1,"ok":false,"details":"503"}',
      '{"latency":0.00',
    ].join("\n");
    const r = parseFortioAccessLog(text);
    assert.equal(r.length, 1);
    assert.ok(Math.abs(r[0]!.start - 1796659929714.9067) < 0.01);
    assert.ok(Math.abs(r[0]!.ms - 2.5) < 1e-9);
  });

  it("puts the slowest 1 % against GC pauses and loop stalls, beside the share of all requests", () => {
    // 1,000 requests of 0.5 ms, 1 ms apart; the 10 slowest (5 ms) sit at t = 500..509 ms,
    // where the server proxy paused for a major GC and its loop stalled waiting for the CPU.
    const requests: RequestRecord[] = Array.from({ length: 1000 }, (_, i) => ({ start: i, ms: i >= 500 && i < 510 ? 5 : 0.5 }));
    const server = parseRuntimeStats("server", [
      '{"t":"start","at":0}',
      '{"t":"gc","at":502,"ms":8,"kind":"major"}',
      '{"t":"gc","at":800.2,"ms":0.2,"kind":"minor"}',
      '{"t":"stall","from":498,"to":512,"lateMs":13,"ranMs":2,"waitedMs":10}',
      '{"t":"stall","from":900,"to":901.5,"lateMs":0.5,"ranMs":0.5,"waitedMs":0}',
      '{"t":"loop","p50Ms":1,"p99Ms":2,"p999Ms":3,"maxMs":13,"count":10}',
      "not json",
    ].join("\n"));
    const client = parseRuntimeStats("client", "");
    const a = attributeTail(requests, [client, server]);
    assert.equal(a.slowCount, 10);
    assert.equal(a.slowFromMs, 5);
    const cause = (name: string) => a.causes.find((c) => c.name === name);
    assert.equal(cause("a GC pause")?.slow, 1);
    assert.equal(cause("a major GC (mark-compact)")?.slow, 1);
    assert.equal(cause("a loop stall > 1 ms")?.slow, 1);
    assert.equal(cause("  in the client proxy")?.slow, 0);
    assert.equal(cause("a stall waiting > 1 ms for the CPU")?.slow, 1);
    assert.equal(cause("a stall mostly running (JS/GC)")?.slow, 0);
    assert.equal(cause("none of these")?.slow, 0);
    // The minor GC at 800.2 touches request 800 only; the 0.5 ms stall is under the threshold.
    assert.ok(cause("a GC pause")!.all < 0.03);
    assert.ok(Math.abs(cause("none of these")!.all - (1 - cause("a loop stall > 1 ms")!.all - 1 / 1000)) < 1e-9);
    assert.deepEqual(a.proxies.find((p) => p.label === "server"), { label: "server", gcs: 2, majorGcs: 1, gcMaxMs: 8, stalls: 1, stallMaxMs: 13, loop: { p50Ms: 1, p99Ms: 2, p999Ms: 3, maxMs: 13, count: 10 } });
  });

  it("reads PSS, RSS and private memory from smaps_rollup", () => {
    const text = "00400000-7ffd [rollup]\nRss:               86000 kB\nPss:               36000 kB\nPss_Anon:          30000 kB\nPss_File:           6000 kB\nShared_Clean:      50000 kB\nPrivate_Clean:       100 kB\nPrivate_Dirty:     31900 kB\n";
    assert.deepEqual(parseSmapsRollup(text), { rssBytes: 86000 * 1024, pssBytes: 36000 * 1024, privateBytes: 32000 * 1024, pssAnonBytes: 30000 * 1024, pssFileBytes: 6000 * 1024 });
  });

  it("reads taskset CPU lists and the busy ticks of those CPUs from /proc/stat", () => {
    assert.deepEqual(parseCpuList("1"), [1]);
    assert.deepEqual(parseCpuList("0-2,5"), [0, 1, 2, 5]);
    const stat = "cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 1 2 3 400 5 6 7 8 0 0\ncpu1 10 20 30 400 50 60 70 80 0 0\nintr 1\n";
    assert.equal(cpuBusyTicks([1], stat), 10 + 20 + 30 + 60 + 70 + 80);
    assert.equal(cpuBusyTicks([0, 1], stat), 1 + 2 + 3 + 6 + 7 + 8 + 270);
  });
});
