// The verdict the operations e2e draws from fortio's JSON result: 2xx, other statuses and
// connection errors (fortio's code -1) counted apart, latencies in milliseconds.
import assert from "node:assert/strict";
import { summarize, type FortioResult } from "./fortio-load.ts";

const result = (codes: Record<string, number>): FortioResult => ({
  ActualDuration: 61_500_000_000,
  ActualQPS: 99.8,
  RetCodes: codes,
  DurationHistogram: { Count: Object.values(codes).reduce((a, b) => a + b, 0), Percentiles: [{ Percentile: 50, Value: 0.0021 }, { Percentile: 99, Value: 0.0435 }] },
  ErrorsDurationHistogram: { Count: 0 },
});

describe("the operations e2e's reading of a fortio result", () => {
  it("counts 2xx, other statuses and connection errors apart", () => {
    const s = summarize(result({ "200": 6000, "204": 3, "503": 2, "-1": 1 }));
    assert.deepEqual([s.requests, s.ok, s.non2xx, s.connectionErrors], [6006, 6003, 2, 1]);
  });

  it("gives p50 and p99 in milliseconds, and the run's seconds and rate", () => {
    const s = summarize(result({ "200": 6000 }));
    assert.equal(s.p50Ms.toFixed(1), "2.1");
    assert.equal(s.p99Ms.toFixed(1), "43.5");
    assert.equal(s.seconds, 61.5);
    assert.equal(s.qps, 99.8);
  });

  it("reports a missing percentile as NaN rather than as zero latency", () => {
    const r = result({ "200": 1 });
    r.DurationHistogram.Percentiles = [];
    assert.ok(Number.isNaN(summarize(r).p99Ms));
  });
});
