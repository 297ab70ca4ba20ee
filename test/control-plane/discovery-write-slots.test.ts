import assert from "node:assert/strict";
import { connect, type ClientHttp2Session } from "node:http2";
import { Registry } from "prom-client";
import { loadProto } from "../../api/load.ts";
import type { ProtoGrpcType } from "../../api/gen/discovery.ts";
import type { Snapshot__Output } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import { startDiscoveryServer, type DiscoveryServer } from "../../control-plane/src/discovery-server.ts";
import { WriteSlots, type ReleaseSlot } from "../../control-plane/src/discovery-write-slots.ts";
import type { MeshModel } from "../../control-plane/src/mesh-state.ts";
import { DiscoveryClient } from "../../sidecar/src/discovery/client.ts";
import { createTestMesh, issueTestLeaf, type TestLeaf } from "../fixtures/mesh-pki.ts";
import { waitFor } from "../support/wait.ts";
import { mesh, meshedEndpoint, namespace, service } from "./discovery-helpers.ts";

const stream = loadProto<ProtoGrpcType>("discovery.proto").weft.discovery.v1.Discovery.service.Stream;

/** A mesh whose full snapshot is far over the 64 KiB a proxy's HTTP/2 window takes before it reads. */
function bigModel(marker: string): MeshModel {
  const eps = Array.from({ length: 2000 }, (_, i) => meshedEndpoint(`10.1.${i >> 8}.${i & 255}`, "shop", "web", { zone: i === 0 ? marker : "z1" }));
  return mesh([service("shop", "web", eps)], [namespace("shop", true)]);
}

/** A proxy that says Hello and then never reads: its full snapshot cannot flush, so it keeps its write slot. */
function stalledProxy(port: number, leaf: TestLeaf): ClientHttp2Session {
  const session = connect(`https://127.0.0.1:${port}`, {
    ca: leaf.anchorsPem,
    key: leaf.keyPem,
    cert: leaf.certChainPem,
    servername: "discovery.weft.internal",
    checkServerIdentity: () => undefined,
  });
  session.on("error", () => undefined);
  const call = session.request({ ":method": "POST", ":path": stream.path, "content-type": "application/grpc", te: "trailers" });
  call.on("error", () => undefined);
  const hello = stream.requestSerialize({ hello: { workload: "stalled", heldVersion: "" } });
  const frame = Buffer.alloc(5 + hello.length);
  frame.writeUInt32BE(hello.length, 1);
  hello.copy(frame, 5);
  call.write(frame);
  call.pause();
  return session;
}

describe("write slots", () => {
  /** Acquires a slot for `name`, recording when it is granted and keeping its release. */
  function taker(slots: WriteSlots, granted: string[], releases: Map<string, ReleaseSlot>) {
    return (name: string) => slots.acquire((release) => {
      granted.push(name);
      releases.set(name, release);
    });
  }

  it("grants slots at once up to its size, then queues takers and serves them in arrival order", () => {
    const slots = new WriteSlots(2);
    const granted: string[] = [];
    const releases = new Map<string, ReleaseSlot>();
    const take = taker(slots, granted, releases);
    for (const name of ["a", "b", "c", "d"]) take(name);
    assert.deepEqual(granted, ["a", "b"]);
    assert.equal(slots.inUse, 2);
    assert.equal(slots.waiting, 2);
    releases.get("b")!();
    assert.deepEqual(granted, ["a", "b", "c"]);
    releases.get("a")!();
    assert.deepEqual(granted, ["a", "b", "c", "d"]);
    assert.equal(slots.inUse, 2);
    assert.equal(slots.waiting, 0);
    releases.get("c")!();
    releases.get("d")!();
    assert.equal(slots.inUse, 0);
  });

  it("a slot released twice is given back once", () => {
    const slots = new WriteSlots(1);
    const granted: string[] = [];
    const releases = new Map<string, ReleaseSlot>();
    const take = taker(slots, granted, releases);
    take("a");
    take("b");
    take("c");
    releases.get("a")!();
    releases.get("a")!();
    assert.deepEqual(granted, ["a", "b"], "the second release of a's slot must not let c in beside b");
    assert.equal(slots.inUse, 1);
    assert.equal(slots.waiting, 1);
  });

  it("a released slot goes to the queue before a newcomer", () => {
    const slots = new WriteSlots(1);
    const granted: string[] = [];
    const releases = new Map<string, ReleaseSlot>();
    const take = taker(slots, granted, releases);
    take("a");
    take("queued");
    releases.get("a")!();
    take("newcomer");
    assert.deepEqual(granted, ["a", "queued"]);
    assert.equal(slots.waiting, 1);
  });

  it("a taker that gives its slot back at once (its stream closed while queued) passes it straight on", () => {
    const slots = new WriteSlots(1);
    const granted: string[] = [];
    const releases = new Map<string, ReleaseSlot>();
    const take = taker(slots, granted, releases);
    take("a");
    slots.acquire((release) => {
      granted.push("closed");
      release();
    });
    take("c");
    releases.get("a")!();
    assert.deepEqual(granted, ["a", "closed", "c"]);
    assert.equal(slots.inUse, 1);
    assert.equal(slots.waiting, 0);
  });

  it("refuses a size that could never grant a slot", () => {
    assert.throws(() => new WriteSlots(0), RangeError);
    assert.throws(() => new WriteSlots(1.5), RangeError);
  });
});

describe("discovery write slots over gRPC", function () {
  this.timeout(60_000);
  let server: DiscoveryServer;
  let stalled: ClientHttp2Session | null = null;
  let client: DiscoveryClient | null = null;

  afterEach(async () => {
    client?.stop();
    stalled?.destroy();
    await server.stop(500);
  });

  it("a proxy that waited for a write slot gets the version current when the slot frees, not the one it was queued with", async () => {
    const pki = await createTestMesh();
    const serverLeaf = await issueTestLeaf(pki, { namespace: "weft-system", serviceAccount: "weft-control-plane" });
    const shopLeaf = await issueTestLeaf(pki, { namespace: "shop", serviceAccount: "web" });
    const registry = new Registry();
    server = await startDiscoveryServer({ host: "127.0.0.1", tls: serverLeaf, trustDomain: pki.trustDomain, initialModel: bigModel("first"), maxFullInFlight: 1, registry });

    stalled = stalledProxy(server.port, shopLeaf);
    await waitFor("one full snapshot in flight", () => server.stats().fullInFlight === 1, { timeoutMs: 15_000, intervalMs: 10 });
    client = new DiscoveryClient({ address: `127.0.0.1:${server.port}`, tls: shopLeaf, backoff: { baseMs: 100, maxMs: 500 } });
    const received: Snapshot__Output[] = [];
    client.on("update", (_state, snapshot) => received.push(snapshot));
    client.start();
    await waitFor("one full snapshot waiting for a slot", () => server.stats().fullWaiting === 1, { timeoutMs: 15_000, intervalMs: 10 });

    server.publish(bigModel("second"));
    server.flushNow();
    stalled.destroy();
    stalled = null;

    const state = await client.waitFor((s) => s.services.size > 0);
    assert.equal(state.services.get("shop/web")?.endpoints.find((e) => e.address === "10.1.0.0")?.zone, "second");
    assert.equal(received.length, 1, "one full snapshot at the new version, no delta after a stale one");
    assert.equal(received[0]?.full, true);
  });
});
