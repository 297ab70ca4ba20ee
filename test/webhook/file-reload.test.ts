// watchReloadable: files polled on a clock, reloaded once an update has
// settled, a bad version refused with the last good one kept. On a fake clock
// every step is a tick, so nothing here waits or sleeps; one test runs on real
// time, because seeing Kubernetes' symlink swap on a real file system is its point.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/log.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { watchReloadable, type Reloadable } from "../../webhook/src/file-reload.ts";
import { FakeClock } from "../support/fake-clock.ts";

const POLL_MS = 1_000;
const SETTLE_MS = 100;

// "a=1" style files; anything else is refused.
function parsePair([a, b]: string[]): Result<string> {
  return /^\w+=\d+$/.test(a ?? "") && /^\w+=\d+$/.test(b ?? "") ? ok(`${a}|${b}`) : fail("bad", `not key=number: ${a} / ${b}`);
}

// A Kubernetes volume update of one file: write beside, then rename over (atomic).
let serial = 0;
function replaceFile(path: string, text: string): void {
  const tmp = `${path}.tmp-${serial++}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

describe("webhook file reload", () => {
  let dir: string;
  let clock: FakeClock;
  let watched: Reloadable<string> | undefined;
  let events: ("ok" | "error")[];
  const paths = () => [join(dir, "a"), join(dir, "b")];

  const start = (): Reloadable<string> => {
    const r = watchReloadable({ name: "pair", paths: paths(), load: parsePair, logger: silentLogger(), pollMs: POLL_MS, settleMs: SETTLE_MS, clock, onReload: (result) => events.push(result) });
    assert.ok(r.ok, r.ok ? "" : r.message);
    watched = r.value;
    return r.value;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "weft-file-reload-"));
    writeFileSync(join(dir, "a"), "a=1");
    writeFileSync(join(dir, "b"), "b=1");
    clock = new FakeClock();
    events = [];
  });
  afterEach(() => {
    watched?.stop();
    watched = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to start from files that do not load", () => {
    writeFileSync(join(dir, "b"), "nonsense");
    const r = watchReloadable({ name: "pair", paths: paths(), load: parsePair, logger: silentLogger(), clock });
    assert.equal(r.ok, false);
    assert.equal(clock.pending(), 0, "nothing is polled for a watch that never started");
  });

  it("reads a changed file at the first poll after the change, once the update has settled", () => {
    const w = start();
    replaceFile(join(dir, "a"), "a=2");
    clock.tick(POLL_MS);
    assert.deepEqual(events, [], "the change is seen, and the read waits for the rest of the update");
    assert.equal(w.current(), "a=1|b=1");
    clock.tick(SETTLE_MS);
    assert.deepEqual(events, ["ok"]);
    assert.equal(w.current(), "a=2|b=1");
  });

  it("reads a pair changed within the settling time together, in one reload", () => {
    const w = start();
    replaceFile(join(dir, "a"), "a=3");
    clock.tick(POLL_MS);
    replaceFile(join(dir, "b"), "b=3");
    clock.tick(SETTLE_MS);
    assert.deepEqual(events, ["ok"]);
    assert.equal(w.current(), "a=3|b=3");
    // The next poll sees b's change too, and reads the same pair again.
    clock.tick(POLL_MS + SETTLE_MS);
    assert.deepEqual(events, ["ok", "ok"]);
    assert.equal(w.current(), "a=3|b=3");
  });

  it("keeps the last good version when a file turns bad, and takes the next good one", () => {
    const w = start();
    replaceFile(join(dir, "b"), "b=oops");
    clock.tick(POLL_MS + SETTLE_MS);
    assert.deepEqual(events, ["error"]);
    assert.equal(w.current(), "a=1|b=1");
    replaceFile(join(dir, "b"), "b=4");
    clock.tick(POLL_MS + SETTLE_MS);
    assert.deepEqual(events, ["error", "ok"]);
    assert.equal(w.current(), "a=1|b=4");
  });

  it("counts a removed file as a change it refuses, and reads the file again when it is back", () => {
    const w = start();
    rmSync(join(dir, "a"));
    clock.tick(POLL_MS + SETTLE_MS);
    assert.deepEqual(events, ["error"]);
    assert.equal(w.current(), "a=1|b=1");
    writeFileSync(join(dir, "a"), "a=5");
    clock.tick(POLL_MS + SETTLE_MS);
    assert.deepEqual(events, ["error", "ok"]);
    assert.equal(w.current(), "a=5|b=1");
  });

  it("does not reload files that did not change", () => {
    start();
    clock.tick(10 * POLL_MS);
    assert.deepEqual(events, []);
  });

  it("stops polling when stopped, even with a reload pending", () => {
    const w = start();
    replaceFile(join(dir, "a"), "a=6");
    clock.tick(POLL_MS);
    w.stop();
    assert.equal(clock.pending(), 0);
    clock.tick(10 * POLL_MS);
    assert.deepEqual(events, []);
    assert.equal(w.current(), "a=1|b=1");
  });

  it("sees Kubernetes' swap of the ..data symlink on a real file system, on real time", async () => {
    // The layout the kubelet writes for a ConfigMap or Secret volume: each file is a link
    // through ..data, which points at a timestamped folder, and an update swaps ..data.
    const volume = join(dir, "volume");
    mkdirSync(volume);
    const version = (name: string, a: string, b: string): void => {
      mkdirSync(join(volume, name));
      writeFileSync(join(volume, name, "a"), a);
      writeFileSync(join(volume, name, "b"), b);
    };
    version("..v1", "a=7", "b=7");
    symlinkSync("..v1", join(volume, "..data"));
    for (const f of ["a", "b"]) symlinkSync(join("..data", f), join(volume, f));

    const reloaded = new Promise<"ok" | "error">((resolve) => {
      const r = watchReloadable({ name: "pair", paths: [join(volume, "a"), join(volume, "b")], load: parsePair, logger: silentLogger(), pollMs: 20, settleMs: 20, onReload: resolve });
      assert.ok(r.ok, r.ok ? "" : r.message);
      watched = r.value;
    });
    assert.equal(watched?.current(), "a=7|b=7");
    version("..v2", "a=8", "b=8");
    symlinkSync("..v2", join(volume, "..data_tmp"));
    renameSync(join(volume, "..data_tmp"), join(volume, "..data"));
    assert.equal(await reloaded, "ok");
    assert.equal(watched?.current(), "a=8|b=8");
  });
});
