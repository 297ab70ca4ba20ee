import assert from "node:assert/strict";
import { Debouncer } from "../../control-plane/src/discovery-debouncer.ts";
import { FakeClock } from "../support/fake-clock.ts";

function debounced(quietMs = 100, maxDelayMs = 1000) {
  const clock = new FakeClock();
  const flushes: number[] = [];
  const debouncer = new Debouncer({ quietMs, maxDelayMs, clock }, () => flushes.push(clock.now()));
  return { clock, flushes, debouncer };
}

describe("discovery debouncer", () => {
  it("flushes a burst once, when the changes have been quiet for the quiet window", () => {
    const { clock, flushes, debouncer } = debounced();
    for (let i = 0; i < 5; i++) {
      debouncer.poke();
      clock.tick(50);
    }
    assert.deepEqual(flushes, []);
    clock.tick(49);
    assert.deepEqual(flushes, []);
    clock.tick(1);
    assert.deepEqual(flushes, [300], "100 ms after the last of the pokes at 0, 50, ..., 200");
    assert.equal(clock.pending(), 0, "nothing left to flush");
  });

  it("a steady trickle of changes is flushed no later than the maximum delay after its first change", () => {
    const { clock, flushes, debouncer } = debounced(100, 1000);
    for (let t = 0; t < 2500; t += 50) {
      debouncer.poke();
      clock.tick(50);
    }
    assert.deepEqual(flushes, [1000, 2000]);
  });

  it("flushNow flushes a pending change at once and only once, and does nothing when nothing is pending", () => {
    const { clock, flushes, debouncer } = debounced();
    debouncer.flushNow();
    assert.deepEqual(flushes, []);
    debouncer.poke();
    debouncer.flushNow();
    assert.deepEqual(flushes, [0]);
    assert.equal(clock.pending(), 0);
    clock.tick(1000);
    assert.deepEqual(flushes, [0]);
  });

  it("cancel drops the pending change", () => {
    const { clock, flushes, debouncer } = debounced();
    debouncer.poke();
    debouncer.cancel();
    assert.equal(clock.pending(), 0);
    debouncer.flushNow();
    assert.deepEqual(flushes, []);
  });
});
