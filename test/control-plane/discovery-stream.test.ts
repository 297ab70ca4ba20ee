import assert from "node:assert/strict";
import { initialStreamState, transition, type StreamContext, type StreamEvent, type StreamState } from "../../control-plane/src/discovery-stream.ts";

const ctx = (current: string | null, now = 0): StreamContext => ({ current, now, nackStormCount: 3, nackStormWindowMs: 1000 });
const hello = (held = ""): StreamEvent => ({ type: "message", message: { message: "hello", hello: { workload: "w", zone: "", node: "", heldVersion: held, proxyVersion: "" } } });
const ack = (version: string): StreamEvent => ({ type: "message", message: { message: "ack", ack: { version } } });
const nack = (version: string): StreamEvent => ({ type: "message", message: { message: "nack", nack: { version, reason: "bad" } } });

function run(events: [StreamEvent, StreamContext][]): { state: StreamState; actions: string[] } {
  let state = initialStreamState();
  const actions: string[] = [];
  for (const [event, c] of events) {
    const t = transition(state, event, c);
    state = t.state;
    for (const a of t.actions) actions.push(a.type === "send" ? `send:${a.held ?? "full"}` : a.type === "close" ? `close:${a.code}:${a.reason}` : a.type === "count" ? `count:${a.event}` : a.type);
  }
  return { state, actions };
}

describe("discovery stream state machine", () => {
  it("sends a full snapshot after a Hello holding nothing, and a delta from the held version", () => {
    assert.deepEqual(run([[hello(), ctx("e.1")]]).actions, ["hello", "send:full"]);
    assert.deepEqual(run([[hello("e.1"), ctx("e.2")]]).actions, ["hello", "send:e.1"]);
  });

  it("holds the Hello until a first model exists, and sends on the first change", () => {
    const r = run([[hello(), ctx(null)], [{ type: "changed" }, ctx("e.0")]]);
    assert.deepEqual(r.actions, ["hello", "send:full"]);
  });

  it("keeps one version in flight: a change during it is sent as a delta once the proxy ACKs", () => {
    const r = run([
      [hello(), ctx("e.1")],
      [{ type: "sent", version: "e.1", full: true }, ctx("e.1")],
      [{ type: "changed" }, ctx("e.2")],
      [ack("e.1"), ctx("e.2")],
    ]);
    assert.deepEqual(r.actions, ["hello", "send:full", "count:ack", "send:e.1"]);
    assert.equal(r.state.held, "e.1");
  });

  it("answers a NACKed delta with a full snapshot, but does not resend a NACKed full one until the view moves", () => {
    const delta = run([[hello("e.1"), ctx("e.2")], [{ type: "sent", version: "e.2", full: false }, ctx("e.2")], [nack("e.2"), ctx("e.2")]]);
    assert.deepEqual(delta.actions, ["hello", "send:e.1", "count:nack", "send:full"]);
    const full = run([
      [hello(), ctx("e.2")],
      [{ type: "sent", version: "e.2", full: true }, ctx("e.2")],
      [nack("e.2"), ctx("e.2")],
      [{ type: "changed" }, ctx("e.2")],
      [{ type: "changed" }, ctx("e.3")],
    ]);
    assert.deepEqual(full.actions, ["hello", "send:full", "count:nack", "send:full"]);
  });

  it("ignores replayed and unknown ACKs and NACKs", () => {
    const r = run([[hello(), ctx("e.1")], [{ type: "sent", version: "e.1", full: true }, ctx("e.1")], [ack("e.1"), ctx("e.1")], [ack("e.1"), ctx("e.1")], [nack("e.0"), ctx("e.1")]]);
    assert.deepEqual(r.actions, ["hello", "send:full", "count:ack", "count:stale-ack", "count:stale-nack"]);
    assert.equal(r.state.phase, "active");
  });

  it("closes on a NACK storm, a missing or repeated Hello, an empty or malformed message", () => {
    const storm = run([[hello(), ctx("e.1")], [nack("x"), ctx("e.1", 1)], [nack("x"), ctx("e.1", 2)], [nack("x"), ctx("e.1", 3)], [nack("x"), ctx("e.1", 4)]]);
    assert.equal(storm.actions.at(-1), "close:RESOURCE_EXHAUSTED:nack-storm");
    const slow = run([[hello(), ctx("e.1")], ...[0, 1, 2, 3, 4, 5].map((i): [StreamEvent, StreamContext] => [nack("x"), ctx("e.1", i * 600)])]);
    assert.equal(slow.state.phase, "active", "NACKs spread over time are not a storm");
    assert.equal(run([[ack("e.1"), ctx("e.1")]]).actions[0], "close:INVALID_ARGUMENT:expected-hello");
    assert.equal(run([[hello(), ctx("e.1")], [hello(), ctx("e.1")]]).actions.at(-1), "close:FAILED_PRECONDITION:duplicate-hello");
    assert.equal(run([[hello(), ctx("e.1")], [{ type: "message", message: {} }, ctx("e.1")]]).actions.at(-1), "close:INVALID_ARGUMENT:empty-message");
    assert.equal(run([[{ type: "message", message: null }, ctx("e.1")]]).actions[0], "close:INVALID_ARGUMENT:malformed");
    const long = { type: "message", message: { message: "hello", hello: { workload: "x".repeat(1000), zone: "", node: "", heldVersion: "", proxyVersion: "" } } } as StreamEvent;
    assert.equal(run([[long, ctx("e.1")]]).actions[0], "close:INVALID_ARGUMENT:field-too-long");
  });

  it("does nothing once closed", () => {
    const closed = run([[ack("e.1"), ctx("e.1")]]).state;
    assert.deepEqual(transition(closed, hello(), ctx("e.1")).actions, []);
  });
});
