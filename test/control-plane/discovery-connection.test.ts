import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Registry } from "prom-client";
import type { ProxyMessage__Output } from "../../api/gen/weft/discovery/v1/ProxyMessage.ts";
import { silentLogger } from "../../lib/log.ts";
import { Connection, MALFORMED, type ConnectionShared, type ConnectionViews } from "../../control-plane/src/discovery-connection.ts";
import { createDiscoveryMetrics } from "../../control-plane/src/discovery-metrics.ts";
import { WriteSlots } from "../../control-plane/src/discovery-write-slots.ts";
import type { MeshModel } from "../../control-plane/src/mesh-state.ts";
import { groupNamespace } from "../../control-plane/src/snapshot-authorization.ts";
import { SnapshotVersions } from "../../control-plane/src/snapshot-versions.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { decodeSnapshot, FakeProxyCall, mesh, meshedEndpoint, namespace, service } from "./discovery-helpers.ts";

const DEADLINE_MS = 30_000;
const hello = (heldVersion = ""): ProxyMessage__Output => ({ message: "hello", hello: { workload: "web", zone: "", node: "", heldVersion, proxyVersion: "" } });
const ack = (version: string): ProxyMessage__Output => ({ message: "ack", ack: { version } });
const nack = (version: string): ProxyMessage__Output => ({ message: "nack", nack: { version, reason: "bad" } });

/** `endpoints` web endpoints; 2,000 make a full snapshot far over the 64 KiB that goes out without a write slot. */
function model(endpoints: number, zone = "z1"): MeshModel {
  const eps = Array.from({ length: endpoints }, (_, i) => meshedEndpoint(`10.1.${i >> 8}.${i & 255}`, "shop", "web", { zone }));
  return mesh([service("shop", "web", eps)], [namespace("shop", true)]);
}

/** One server's worth of shared parts, with the subscriptions and releases recorded. */
function harness(options: { initial?: MeshModel; slots?: number; nackStorm?: { count: number; windowMs: number } } = {}) {
  const clock = new FakeClock();
  const registry = new Registry();
  let versions = options.initial ? new SnapshotVersions(options.initial, { epoch: "e" }) : null;
  const log: string[] = [];
  const released: number[] = [];
  const views = (): ConnectionViews | null => {
    const v = versions;
    if (!v) return null;
    return {
      currentVersion: (group) => v.currentVersion(group),
      prepare: (group, held) => v.prepare(group, held),
      classify: (ns, workload) => v.classify(ns, workload),
      // Logged by namespace: the class part of a group key is a hash of the proxy's policy.
      subscribe: (group) => {
        log.push(`subscribe ${groupNamespace(group)}`);
        v.subscribe(group);
      },
      unsubscribe: (group) => {
        log.push(`unsubscribe ${groupNamespace(group)}`);
        v.unsubscribe(group);
      },
    };
  };
  const slots = new WriteSlots(options.slots ?? 8);
  const shared: ConnectionShared = {
    views,
    slots,
    clock,
    writeDeadlineMs: DEADLINE_MS,
    nackStorm: options.nackStorm ?? { count: 20, windowMs: 10_000 },
    metrics: createDiscoveryMetrics(registry),
    logger: silentLogger(),
    released: (c) => released.push(c.id),
  };
  let nextId = 1;
  const connect = () => {
    const call = new FakeProxyCall();
    const connection = new Connection(nextId++, { namespace: "shop", serviceAccount: "web" }, call, shared);
    return { call, connection, send: (m: ProxyMessage__Output) => call.emit("data", m) };
  };
  /** Applies a model as the server does: a first one creates the versions, later ones update them. */
  const apply = (m: MeshModel) => {
    if (versions) versions.update(m);
    else versions = new SnapshotVersions(m, { epoch: "e" });
  };
  const counter = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values.reduce((a, v) => a + v.value, 0) ?? 0;
  return { clock, slots, log, released, connect, apply, counter };
}

describe("discovery connection", () => {
  it("sends nothing before the Hello, the full snapshot after it, and a delta from the ACKed version after a change", () => {
    const h = harness({ initial: model(2) });
    const { call, connection, send } = h.connect();
    connection.changed();
    assert.equal(call.written.length, 0, "no Hello yet");
    send(hello());
    assert.deepEqual(h.log, ["subscribe shop"]);
    const first = decodeSnapshot(call.written[0]!);
    assert.equal(first.full, true);
    send(ack(first.version));
    h.apply(model(3));
    connection.changed();
    assert.equal(call.written.length, 2);
    const delta = decodeSnapshot(call.written[1]!);
    assert.equal(delta.full, false);
    assert.equal(delta.baseVersion, first.version);
    assert.equal(connection.state.inFlight?.version, delta.version);
  });

  it("a proxy that said Hello before the first model subscribes and gets it when the model arrives", () => {
    const h = harness();
    const { call, connection, send } = h.connect();
    send(hello());
    assert.equal(connection.state.phase, "active");
    assert.deepEqual(h.log, []);
    assert.equal(call.written.length, 0);
    h.apply(model(1));
    connection.changed();
    assert.deepEqual(h.log, ["subscribe shop"]);
    assert.equal(decodeSnapshot(call.written[0]!).full, true);
  });

  it("ends the call with a status when the proxy breaks the protocol, and is released once as the transport then closes", async () => {
    const h = harness({ initial: model(1) });
    const { call, connection, send } = h.connect();
    send(ack("e.0"));
    assert.equal(call.statuses.length, 1);
    assert.equal(call.statuses[0]?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(call.statuses[0]?.details ?? "", /^expected-hello: /);
    call.emit("close");
    call.emit("cancelled");
    assert.deepEqual(h.released, [connection.id]);
    assert.deepEqual(h.log, [], "it never subscribed");
    assert.equal(await h.counter("weft_discovery_refused_streams_total"), 1);
  });

  it("refuses bytes that were not a ProxyMessage", () => {
    const h = harness({ initial: model(1) });
    const { call } = h.connect();
    call.emit("data", MALFORMED);
    assert.match(call.statuses[0]?.details ?? "", /^malformed: /);
  });

  it("is released and unsubscribed once, whichever transport events come, and writes nothing after", () => {
    const h = harness({ initial: model(1) });
    const { call, connection, send } = h.connect();
    send(hello());
    call.emit("end");
    assert.equal(call.ended, true, "the proxy half-closed: our side ends too");
    call.emit("close");
    call.emit("error", { code: grpc.status.CANCELLED });
    call.emit("cancelled");
    assert.deepEqual(h.released, [connection.id]);
    assert.deepEqual(h.log, ["subscribe shop", "unsubscribe shop"]);
    h.apply(model(2));
    connection.changed();
    assert.equal(call.written.length, 1, "only the snapshot sent before it closed");
    assert.equal(connection.state.phase, "closed");
  });

  it("counts a NACK storm on the injected clock", () => {
    const h = harness({ initial: model(1), nackStorm: { count: 2, windowMs: 1000 } });
    const spread = h.connect();
    spread.send(hello());
    for (let i = 0; i < 4; i++) {
      spread.send(nack("stale"));
      h.clock.tick(600);
    }
    assert.equal(spread.connection.state.phase, "active", "NACKs 600 ms apart are no storm");
    const storm = h.connect();
    storm.send(hello());
    for (let i = 0; i < 3; i++) storm.send(nack("stale"));
    assert.equal(storm.call.statuses[0]?.code, grpc.status.RESOURCE_EXHAUSTED);
  });

  describe("large messages and write slots", () => {
    it("a full snapshot holds a write slot until it flushes; the next stream waits meanwhile", () => {
      const h = harness({ initial: model(2000), slots: 1 });
      const a = h.connect();
      const b = h.connect();
      a.send(hello());
      b.send(hello());
      assert.equal(a.call.written.length, 1);
      assert.equal(b.call.written.length, 0);
      assert.equal(h.slots.waiting, 1);
      a.call.flush();
      assert.equal(b.call.written.length, 1);
      b.call.flush();
      assert.equal(h.slots.inUse, 0);
    });

    it("a proxy that does not read gives up its slot at the write deadline, and only once", () => {
      const h = harness({ initial: model(2000), slots: 1 });
      const stalled = h.connect();
      const next = h.connect();
      stalled.send(hello());
      next.send(hello());
      h.clock.tick(DEADLINE_MS - 1);
      assert.equal(next.call.written.length, 0);
      h.clock.tick(1);
      assert.equal(next.call.written.length, 1, "the slot passed on at the deadline");
      const third = h.connect();
      third.send(hello());
      stalled.call.flush();
      assert.equal(third.call.written.length, 0, "the stalled write flushing late must not free a second slot");
      assert.equal(h.slots.inUse, 1);
    });

    it("a stream waiting for a slot gets the version current when the slot frees, once, however many changes came meanwhile", () => {
      const h = harness({ initial: model(2000, "first"), slots: 1 });
      const holder = h.connect();
      const waiter = h.connect();
      holder.send(hello());
      waiter.send(hello());
      h.apply(model(2000, "second"));
      waiter.connection.changed();
      h.apply(model(2000, "third"));
      waiter.connection.changed();
      holder.call.flush();
      waiter.call.flush();
      assert.equal(waiter.call.written.length, 1);
      assert.equal(h.slots.waiting, 0, "the changes meanwhile queued no second write");
      const got = decodeSnapshot(waiter.call.written[0]!);
      assert.equal(got.full, true);
      assert.equal(got.services[0]?.endpoints[0]?.zone, "third");
    });

    it("a stream that closes while waiting for a slot passes it straight on and is sent nothing", () => {
      const h = harness({ initial: model(2000), slots: 1 });
      const holder = h.connect();
      const gone = h.connect();
      const last = h.connect();
      holder.send(hello());
      gone.send(hello());
      last.send(hello());
      gone.call.emit("close");
      holder.call.flush();
      assert.equal(gone.call.written.length, 0);
      assert.equal(last.call.written.length, 1);
      assert.equal(h.slots.waiting, 0);
    });
  });
});
