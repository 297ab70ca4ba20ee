import { strict as assert } from "node:assert";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { systemClock } from "../../lib/clock.ts";
import { parseSchedstat, probePeriod, startRuntimeStats, stallOf } from "../../sidecar/src/admin/runtime-stats.ts";
import { waitFor } from "../support/wait.ts";

interface Line { t: string; [k: string]: unknown }

/** A full collection now, without starting the process with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}
const lines = async (file: string): Promise<Line[]> => (await readFile(file, "utf8").catch(() => "")).split("\n").filter(Boolean).map((l) => JSON.parse(l) as Line);

describe("the proxy's runtime timeline (WEFT_RUNTIME_STATS_FILE)", function () {
  this.timeout(20_000);
  let dir: string;
  before(async () => { dir = await mkdtemp(path.join(tmpdir(), "weft-runtime-stats-")); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it("calls a tick a stall only when it came later than the threshold, with the thread's run and wait split", () => {
    const base = { intervalMs: 1, thresholdMs: 1, origin: 1_000_000 };
    assert.equal(stallOf({ ...base, prev: 10, now: 11.9 }), undefined);
    const s = stallOf({ ...base, prev: 10, now: 17, schedPrev: { ranMs: 100, waitedMs: 50 }, schedNow: { ranMs: 102, waitedMs: 54 } });
    assert.deepEqual(s, { t: "stall", from: 1_000_010, to: 1_000_017, lateMs: 6, ranMs: 2, waitedMs: 4 });
    assert.ok(Number.isNaN(stallOf({ ...base, prev: 10, now: 17 })?.ranMs));
  });

  it("ticks every 1 ms while the loop works and every 50 ms while it idles", () => {
    const o = { intervalMs: 1, idleIntervalMs: 50, busyUtilization: 0.05 };
    assert.equal(probePeriod(0.2, o), 1);
    assert.equal(probePeriod(0.05, o), 1);
    assert.equal(probePeriod(0.01, o), 50);
  });

  it("reads schedstat's first two fields as ms and refuses anything else", () => {
    assert.deepEqual(parseSchedstat("2500000 1000000 42\n"), { ranMs: 2.5, waitedMs: 1 });
    assert.equal(parseSchedstat("garbage"), undefined);
    assert.equal(parseSchedstat(""), undefined);
  });

  it("records a 120 ms block of the event loop as a stall the thread spent running, and GC pauses with their kind", async () => {
    const file = path.join(dir, "stats.jsonl");
    const stats = startRuntimeStats({ file, clock: systemClock });
    try {
      // Let the probe tick once, then block the loop for longer than its idle period (50 ms):
      // whichever tick is pending when the block starts fires at least 70 ms late.
      await new Promise((r) => setTimeout(r, 20));
      const blockedAt = performance.timeOrigin + performance.now();
      const until = performance.now() + 120;
      while (performance.now() < until) { /* the loop is blocked */ }
      // A collection for certain: garbage made in a loop can be optimized away (escape analysis),
      // and whether it fills the young generation depends on what else the process holds.
      collectGarbage();
      let seen: Line[] = [];
      await waitFor("a stall covering the block and a GC entry in the file", async () => {
        seen = await lines(file);
        return seen.some((l) => l.t === "stall" && Number(l.lateMs) >= 60 && Number(l.to) >= blockedAt + 119) && seen.some((l) => l.t === "gc");
      }).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; the file's stalls and GCs: ${JSON.stringify(seen.filter((l) => l.t === "stall" || l.t === "gc").slice(-8))}`);
      });
    } finally {
      await stats.stop();
    }
    const got = await lines(file);
    assert.equal(got[0]?.t, "start");
    const stall = got.find((l) => l.t === "stall" && Number(l.lateMs) >= 60);
    assert.ok(stall);
    if (got[0]?.["schedstat"] === true) assert.ok(Number(stall["ranMs"]) >= 40, `ran ${String(stall["ranMs"])} ms of the 120 ms block`);
    const gc = got.find((l) => l.t === "gc");
    assert.ok(gc && typeof gc["kind"] === "string" && gc["kind"] !== "unknown" && Number(gc["ms"]) >= 0);
    const loop = got.findLast((l) => l.t === "loop");
    assert.ok(loop && Number(loop["maxMs"]) >= 60, "the delay histogram saw the block too");
  });
});
