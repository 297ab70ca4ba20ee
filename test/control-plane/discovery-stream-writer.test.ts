import assert from "node:assert/strict";
import { writeWithDeadline, type WriteWatch } from "../../control-plane/src/discovery-stream-writer.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { FakeProxyCall } from "./discovery-helpers.ts";

const DEADLINE_MS = 30_000;

function watched(): WriteWatch & { events: string[] } {
  const events: string[] = [];
  return { events, left: () => events.push("left"), overdue: () => events.push("overdue") };
}

describe("discovery stream writer", () => {
  it("a message that flushes before its deadline leaves once, is never overdue, and leaves no timer or listener behind", () => {
    const clock = new FakeClock();
    const call = new FakeProxyCall();
    const watch = watched();
    writeWithDeadline(call, Buffer.from("snapshot"), { clock, deadlineMs: DEADLINE_MS }, watch);
    assert.equal(call.written.length, 1);
    assert.deepEqual(watch.events, []);
    call.flush();
    assert.deepEqual(watch.events, ["left"]);
    assert.equal(clock.pending(), 0, "the deadline timer is cleared");
    clock.tick(DEADLINE_MS * 2);
    assert.deepEqual(watch.events, ["left"]);
    for (const event of ["close", "cancelled", "error"]) assert.equal(call.listenerCount(event), 0, `no ${event} listener left`);
  });

  it("a message still unflushed at its deadline is overdue then, and reports leaving when it finally flushes", () => {
    const clock = new FakeClock();
    const call = new FakeProxyCall();
    const watch = watched();
    writeWithDeadline(call, Buffer.from("snapshot"), { clock, deadlineMs: DEADLINE_MS }, watch);
    clock.tick(DEADLINE_MS - 1);
    assert.deepEqual(watch.events, []);
    clock.tick(1);
    assert.deepEqual(watch.events, ["overdue"]);
    call.flush();
    assert.deepEqual(watch.events, ["overdue", "left"]);
  });

  it("a stream that ends before the bytes flush counts as the message leaving, once", () => {
    for (const end of ["close", "cancelled", "error"] as const) {
      const clock = new FakeClock();
      const call = new FakeProxyCall();
      const watch = watched();
      writeWithDeadline(call, Buffer.from("snapshot"), { clock, deadlineMs: DEADLINE_MS }, watch);
      call.emit(end);
      call.flush();
      call.emit("close");
      clock.tick(DEADLINE_MS);
      assert.deepEqual(watch.events, ["left"], `ended by ${end}`);
    }
  });
});
