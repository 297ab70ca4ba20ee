import assert from "node:assert/strict";
import { initialStreamState, transition, type StreamAction, type StreamContext, type StreamEvent, type StreamState } from "../../control-plane/src/discovery-stream.ts";

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
    actions.push(...t.actions.map(label));
  }
  return { state, actions };
}

function label(a: StreamAction): string {
  switch (a.type) {
    case "send":
      return `send:${a.held ?? "full"}`;
    case "close":
      return `close:${a.code}:${a.reason}`;
    case "count":
      return `count:${a.event}`;
    case "release":
      return a.unsubscribe ? "release:unsubscribe" : "release";
    default:
      return a.type;
  }
}

const sent = (version: string, full: boolean): StreamEvent => ({ type: "sent", version, full });
const closed: StreamEvent = { type: "closed" };

describe("discovery stream state machine", () => {
  it("sends a full snapshot after a Hello holding nothing, and a delta from the held version", () => {
    assert.deepEqual(run([[hello(), ctx("e.1")]]).actions, ["hello", "subscribe", "send:full"]);
    assert.deepEqual(run([[hello("e.1"), ctx("e.2")]]).actions, ["hello", "subscribe", "send:e.1"]);
  });

  it("holds the Hello until a first model exists, then subscribes once and sends on the first change", () => {
    const r = run([[hello(), ctx(null)], [{ type: "changed" }, ctx(null)], [{ type: "changed" }, ctx("e.0")], [sent("e.0", true), ctx("e.0")], [{ type: "changed" }, ctx("e.1")]]);
    assert.deepEqual(r.actions, ["hello", "subscribe", "send:full"]);
    assert.equal(r.state.subscribed, true);
  });

  it("asks for one send at a time: a change while a message waits to be handed over asks for nothing more", () => {
    const waiting = run([[hello(), ctx("e.1")], [{ type: "changed" }, ctx("e.2")], [{ type: "changed" }, ctx("e.3")]]);
    assert.deepEqual(waiting.actions, ["hello", "subscribe", "send:full"]);
    assert.equal(waiting.state.sending, true);
    const handed = transition(waiting.state, sent("e.3", true), ctx("e.3")).state;
    assert.equal(handed.sending, false);
    assert.deepEqual(handed.inFlight, { version: "e.3", full: true });
  });

  it("keeps one version in flight: a change during it is sent as a delta once the proxy ACKs", () => {
    const r = run([
      [hello(), ctx("e.1")],
      [{ type: "sent", version: "e.1", full: true }, ctx("e.1")],
      [{ type: "changed" }, ctx("e.2")],
      [ack("e.1"), ctx("e.2")],
    ]);
    assert.deepEqual(r.actions, ["hello", "subscribe", "send:full", "count:ack", "send:e.1"]);
    assert.equal(r.state.held, "e.1");
  });

  it("answers a NACKed delta with a full snapshot, but does not resend a NACKed full one until the view moves", () => {
    const delta = run([[hello("e.1"), ctx("e.2")], [{ type: "sent", version: "e.2", full: false }, ctx("e.2")], [nack("e.2"), ctx("e.2")]]);
    assert.deepEqual(delta.actions, ["hello", "subscribe", "send:e.1", "count:nack", "send:full"]);
    const full = run([
      [hello(), ctx("e.2")],
      [{ type: "sent", version: "e.2", full: true }, ctx("e.2")],
      [nack("e.2"), ctx("e.2")],
      [{ type: "changed" }, ctx("e.2")],
      [{ type: "changed" }, ctx("e.3")],
    ]);
    assert.deepEqual(full.actions, ["hello", "subscribe", "send:full", "count:nack", "send:full"]);
  });

  it("ignores replayed and unknown ACKs and NACKs", () => {
    const r = run([[hello(), ctx("e.1")], [{ type: "sent", version: "e.1", full: true }, ctx("e.1")], [ack("e.1"), ctx("e.1")], [ack("e.1"), ctx("e.1")], [nack("e.0"), ctx("e.1")]]);
    assert.deepEqual(r.actions, ["hello", "subscribe", "send:full", "count:ack", "count:stale-ack", "count:stale-nack"]);
    assert.equal(r.state.phase, "active");
  });

  it("closes on a NACK storm, a missing or repeated Hello, an empty or malformed message, and releases the stream", () => {
    const storm = run([[hello(), ctx("e.1")], [nack("x"), ctx("e.1", 1)], [nack("x"), ctx("e.1", 2)], [nack("x"), ctx("e.1", 3)], [nack("x"), ctx("e.1", 4)]]);
    assert.deepEqual(storm.actions.slice(-2), ["close:RESOURCE_EXHAUSTED:nack-storm", "release:unsubscribe"]);
    assert.equal(storm.state.phase, "closed");
    const slow = run([[hello(), ctx("e.1")], ...[0, 1, 2, 3, 4, 5].map((i): [StreamEvent, StreamContext] => [nack("x"), ctx("e.1", i * 600)])]);
    assert.equal(slow.state.phase, "active", "NACKs spread over time are not a storm");
    assert.deepEqual(run([[ack("e.1"), ctx("e.1")]]).actions, ["close:INVALID_ARGUMENT:expected-hello", "release"]);
    assert.deepEqual(run([[hello(), ctx("e.1")], [hello(), ctx("e.1")]]).actions.slice(-2), ["close:FAILED_PRECONDITION:duplicate-hello", "release:unsubscribe"]);
    assert.deepEqual(run([[hello(), ctx("e.1")], [{ type: "message", message: {} }, ctx("e.1")]]).actions.slice(-2), ["close:INVALID_ARGUMENT:empty-message", "release:unsubscribe"]);
    assert.deepEqual(run([[{ type: "message", message: null }, ctx("e.1")]]).actions, ["close:INVALID_ARGUMENT:malformed", "release"]);
    const long = { type: "message", message: { message: "hello", hello: { workload: "x".repeat(1000), zone: "", node: "", heldVersion: "", proxyVersion: "" } } } as StreamEvent;
    assert.deepEqual(run([[long, ctx("e.1")]]).actions, ["close:INVALID_ARGUMENT:field-too-long", "release"]);
  });

  it("releases a stream exactly once when its transport ends, unsubscribing it only if it had subscribed", () => {
    const active = run([[hello(), ctx("e.1")], [sent("e.1", true), ctx("e.1")], [closed, ctx("e.1")], [closed, ctx("e.1")]]);
    assert.deepEqual(active.actions, ["hello", "subscribe", "send:full", "release:unsubscribe"]);
    assert.equal(active.state.phase, "closed");
    assert.deepEqual(run([[closed, ctx("e.1")]]).actions, ["release"], "closed before its Hello");
    assert.deepEqual(run([[hello(), ctx(null)], [closed, ctx(null)]]).actions, ["hello", "release"], "closed while waiting for the first model");
    const refused = run([[ack("e.1"), ctx("e.1")], [closed, ctx("e.1")]]);
    assert.deepEqual(refused.actions, ["close:INVALID_ARGUMENT:expected-hello", "release"], "the transport ending after a refusal releases nothing more");
  });

  it("does nothing once closed", () => {
    const closed = run([[ack("e.1"), ctx("e.1")]]).state;
    assert.deepEqual(transition(closed, hello(), ctx("e.1")).actions, []);
  });
});
