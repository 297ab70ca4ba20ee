import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Registry } from "prom-client";
import { loadProto } from "../../api/load.ts";
import type { ProtoGrpcType } from "../../api/gen/discovery.ts";
import type { Snapshot__Output } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import type { ProxyMessage } from "../../api/gen/weft/discovery/v1/ProxyMessage.ts";
import { startDiscoveryServer, type DiscoveryServer, type DiscoveryServerOptions } from "../../control-plane/src/discovery-server.ts";
import type { MeshModel } from "../../control-plane/src/mesh-state.ts";
import { DiscoveryClient } from "../../sidecar/src/discovery/client.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { waitFor } from "../support/wait.ts";
import { createTestMesh, issueTestLeaf, type TestLeaf, type TestMesh } from "../fixtures/mesh-pki.ts";
import { endpoint, mesh, meshedEndpoint, namespace, recordingLogger, service } from "./discovery-helpers.ts";

const proto = loadProto<ProtoGrpcType>("discovery.proto").weft.discovery.v1;
const SERVER_ID = "spiffe://cluster.local/ns/weft-system/sa/weft-control-plane";

function model(webEndpoints: number): MeshModel {
  const eps = Array.from({ length: webEndpoints }, (_, i) => meshedEndpoint(`10.0.0.${i + 1}`, "shop", "web"));
  return mesh([service("shop", "web", eps), service("legacy", "db", [endpoint("10.0.1.1")])], [namespace("shop", true), namespace("legacy", false)]);
}

/** A raw stream for tests that must send what a well-behaved client never would. */
function rawStream(port: number, leaf: TestLeaf | null) {
  const creds = leaf
    ? grpc.credentials.createSsl(Buffer.from(leaf.anchorsPem), Buffer.from(leaf.keyPem), Buffer.from(leaf.certChainPem), { checkServerIdentity: () => undefined })
    : grpc.credentials.createSsl(null, null, null, { checkServerIdentity: () => undefined, rejectUnauthorized: false });
  const client = new proto.Discovery(`127.0.0.1:${port}`, creds);
  const call = client.Stream();
  const received: Snapshot__Output[] = [];
  const status = new Promise<grpc.StatusObject>((resolve) => {
    call.on("status", resolve);
    call.on("error", () => undefined);
  });
  call.on("data", (s: Snapshot__Output) => received.push(s));
  return { client, call, received, status, write: (m: ProxyMessage) => call.write(m) };
}

/** The real gRPC round trips here take milliseconds: look often, give up well before mocha's timeout. */
const SOON = { timeoutMs: 15_000, intervalMs: 10 };

describe("discovery server", function () {
  this.timeout(60_000);
  let pki: TestMesh;
  let serverLeaf: TestLeaf;
  let shopLeaf: TestLeaf;
  let server: DiscoveryServer;
  let registry: Registry;
  /** The clock of a server started on fake time (its shutdown grace must be ticked away). */
  let fakeClock: FakeClock | null = null;
  const clients: DiscoveryClient[] = [];
  const raws: { client: grpc.Client }[] = [];

  before(async () => {
    pki = await createTestMesh();
    serverLeaf = await issueTestLeaf(pki, { namespace: "weft-system", serviceAccount: "weft-control-plane" });
    shopLeaf = await issueTestLeaf(pki, { namespace: "shop", serviceAccount: "web" });
  });

  beforeEach(async () => {
    registry = new Registry();
    server = await startDiscoveryServer({
      host: "127.0.0.1",
      tls: serverLeaf,
      trustDomain: pki.trustDomain,
      initialModel: model(2),
      debounce: { quietMs: 50, maxDelayMs: 200 },
      nackStorm: { count: 5, windowMs: 10_000 },
      registry,
    });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.stop();
    for (const r of raws.splice(0)) r.client.close();
    const stopping = server.stop(500);
    fakeClock?.tick(500);
    fakeClock = null;
    await stopping;
  });

  /** Replaces the server with one on a fake clock: its debounce window closes only when the test ticks it. */
  async function restartOnFakeClock(options: Partial<DiscoveryServerOptions>): Promise<FakeClock> {
    await server.stop(200);
    registry = new Registry();
    fakeClock = new FakeClock();
    server = await startDiscoveryServer({ host: "127.0.0.1", tls: serverLeaf, trustDomain: pki.trustDomain, registry, clock: fakeClock, ...options });
    return fakeClock;
  }

  function newClient(leaf: TestLeaf, port = server.port): DiscoveryClient {
    const client = new DiscoveryClient({ address: `127.0.0.1:${port}`, tls: leaf, serverIdentity: SERVER_ID, backoff: { baseMs: 100, maxMs: 500 } });
    clients.push(client);
    client.start();
    return client;
  }

  const counter = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values.reduce((a, v) => a + v.value, 0) ?? 0;
  const untilCounter = (name: string, value: number) => waitFor(`${name} to reach ${value}`, async () => (await counter(name)) === value, SOON);

  it("streams a full snapshot, then each change as a delta within the debounce window", async () => {
    const client = newClient(shopLeaf);
    const updates: Snapshot__Output[] = [];
    client.on("update", (_s, snap) => updates.push(snap));
    const first = await client.waitFor((s) => s.services.size > 0);
    assert.deepEqual([...first.services.keys()], ["shop/web"], "legacy/db is out of a shop proxy's scope");
    assert.equal(first.services.get("shop/web")?.endpoints.length, 2);
    assert.equal(first.policy.inbound?.mode, "STRICT");
    assert.equal(updates[0]?.full, true);

    const t0 = Date.now();
    server.publish(model(3));
    const after = await client.waitFor((s) => s.services.get("shop/web")?.endpoints.length === 3);
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(updates.at(-1)?.full, false);
    assert.equal(updates.at(-1)?.baseVersion, first.version);
    assert.equal(after.services.get("shop/web")?.endpoints[2]?.identity, "spiffe://cluster.local/ns/shop/sa/web");
    await waitFor("the server to hold one stream", () => server.stats().streams === 1, SOON);
  });

  it("coalesces a burst of changes into one push", async () => {
    const clock = await restartOnFakeClock({ initialModel: model(2), debounce: { quietMs: 50, maxDelayMs: 200 } });
    const client = newClient(shopLeaf);
    await client.waitFor((s) => s.services.size > 0);
    await untilCounter("weft_discovery_acks_total", 1);
    const updates: Snapshot__Output[] = [];
    client.on("update", (_s, snap) => updates.push(snap));
    for (let n = 3; n <= 30; n++) server.publish(model(n));
    assert.equal(clock.pending(), 1, "one debounce timer for the whole burst");
    clock.tick(50);
    await client.waitFor((s) => s.services.get("shop/web")?.endpoints.length === 30);
    // The proxy's ACK of that push leaves its stream idle, and no timer is left to flush anything:
    // no other push can follow, so the count is final.
    await untilCounter("weft_discovery_acks_total", 2);
    assert.equal(clock.pending(), 0);
    assert.equal(await counter("weft_discovery_flushes_total"), 1, "the 28 changes were applied as one model");
    assert.equal(updates.length, 1);
    assert.equal(updates[0]?.full, false);
  });

  it("resumes after a reconnect with only what changed since the held version", async () => {
    const client = newClient(shopLeaf);
    const held = await client.waitFor((s) => s.services.size > 0);
    client.stop();
    server.publish(model(4));
    server.flushNow();
    const updates: Snapshot__Output[] = [];
    client.on("update", (_s, snap) => updates.push(snap));
    client.start();
    await client.waitFor((s) => s.services.get("shop/web")?.endpoints.length === 4);
    assert.equal(updates[0]?.full, false);
    assert.equal(updates[0]?.baseVersion, held.version);
  });

  it("a proxy restarted against a new control plane converges through a full snapshot and keeps its state meanwhile", async () => {
    const client = newClient(shopLeaf);
    await client.waitFor((s) => s.services.size > 0);
    const port = server.port;
    await server.stop(200);
    await waitFor("the client to see its stream end", () => !client.connected, SOON);
    assert.equal(client.state?.services.get("shop/web")?.endpoints.length, 2, "last snapshot kept while disconnected");
    server = await startDiscoveryServer({ host: "127.0.0.1", port, tls: serverLeaf, trustDomain: pki.trustDomain, initialModel: model(5), registry: new Registry() });
    const state = await client.waitFor((s) => s.services.get("shop/web")?.endpoints.length === 5);
    assert.ok(state.version.length > 0);
  });

  it("keeps a proxy waiting, rather than pushing an empty snapshot, until the first model", async () => {
    const log = recordingLogger();
    const clock = await restartOnFakeClock({ debounce: { quietMs: 20, maxDelayMs: 50 }, logger: log.logger });
    const client = newClient(shopLeaf);
    // With a model, the snapshot would have been written in the very step that handled the Hello.
    await log.waitFor((line) => line.msg === "proxy subscribed");
    assert.equal(await counter("weft_discovery_pushes_total"), 0);
    assert.equal(clock.pending(), 0, "nothing is scheduled that could push later");
    assert.equal(client.state, null);
    server.publish(model(1));
    clock.tick(20);
    await client.waitFor((s) => s.services.size === 1);
  });

  it("refuses a client without a certificate, and one whose certificate has another trust domain", async () => {
    const anonymous = rawStream(server.port, null);
    raws.push(anonymous);
    anonymous.write({ hello: { workload: "x" } });
    const s1 = await anonymous.status;
    assert.equal(s1.code, grpc.status.UNAVAILABLE, s1.details);
    assert.match(s1.details, /certificate|handshake|socket|Connection/i);

    const foreignMesh = await createTestMesh({ trustDomain: "other.example" });
    const foreign = await issueTestLeaf(foreignMesh, { namespace: "shop", serviceAccount: "web" });
    const stranger = rawStream(server.port, { ...foreign, anchorsPem: serverLeaf.anchorsPem });
    raws.push(stranger);
    stranger.write({ hello: {} });
    const s2 = await stranger.status;
    assert.equal(s2.code, grpc.status.UNAVAILABLE, "a certificate from another CA fails the TLS handshake");
    // A healthy proxy is still served.
    const client = newClient(shopLeaf);
    await client.waitFor((s) => s.services.size > 0);
  });

  it("closes a stream whose first message is not a Hello, or that replays its Hello, with a clear status", async () => {
    const noHello = rawStream(server.port, shopLeaf);
    raws.push(noHello);
    noHello.write({ ack: { version: "x" } });
    const s1 = await noHello.status;
    assert.equal(s1.code, grpc.status.INVALID_ARGUMENT);
    assert.match(s1.details, /expected-hello/);

    const twice = rawStream(server.port, shopLeaf);
    raws.push(twice);
    twice.write({ hello: {} });
    await waitFor("the first snapshot on the second stream", () => twice.received.length === 1, SOON);
    twice.write({ hello: {} });
    const s2 = await twice.status;
    assert.equal(s2.code, grpc.status.FAILED_PRECONDITION);
    assert.match(s2.details, /duplicate-hello/);
    assert.equal(await counter("weft_discovery_refused_streams_total"), 2);
  });

  it("closes a stream that sends bytes that are not a ProxyMessage", async () => {
    const creds = grpc.credentials.createSsl(Buffer.from(shopLeaf.anchorsPem), Buffer.from(shopLeaf.keyPem), Buffer.from(shopLeaf.certChainPem), { checkServerIdentity: () => undefined });
    const client = new grpc.Client(`127.0.0.1:${server.port}`, creds);
    raws.push({ client });
    const call = client.makeBidiStreamRequest("/weft.discovery.v1.Discovery/Stream", (b: Buffer) => b, (b: Buffer) => b);
    const status = new Promise<grpc.StatusObject>((resolve) => {
      call.on("status", resolve);
      call.on("error", () => undefined);
    });
    call.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    const s = await status;
    assert.equal(s.code, grpc.status.INVALID_ARGUMENT);
    assert.match(s.details, /malformed/);
  });

  it("ignores replayed ACKs, and ends a NACK storm with RESOURCE_EXHAUSTED while serving everyone else", async () => {
    const healthy = newClient(shopLeaf);
    await healthy.waitFor((s) => s.services.size > 0);

    const raw = rawStream(server.port, shopLeaf);
    raws.push(raw);
    raw.write({ hello: {} });
    await waitFor("snapshot 1 on the raw stream", () => raw.received.length === 1, SOON);
    const v = raw.received[0]!.version;
    raw.write({ ack: { version: v } });
    raw.write({ ack: { version: v } });
    raw.write({ ack: { version: "bogus" } });
    await waitFor("snapshot 1 on the raw stream", () => raw.received.length === 1, SOON);
    for (let i = 0; i < 10; i++) raw.write({ nack: { version: v, reason: "storm" } });
    const s = await raw.status;
    assert.equal(s.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(s.details, /nack-storm/);
    assert.ok((await counter("weft_discovery_ignored_messages_total")) >= 2);

    server.publish(model(6));
    await healthy.waitFor((st) => st.services.get("shop/web")?.endpoints.length === 6);
  });

  it("answers a NACKed delta with a full snapshot, and keeps the proxy's last good version", async () => {
    const raw = rawStream(server.port, shopLeaf);
    raws.push(raw);
    raw.write({ hello: {} });
    await waitFor("snapshot 1 on the raw stream", () => raw.received.length === 1, SOON);
    const v1 = raw.received[0]!.version;
    const acks = await counter("weft_discovery_acks_total");
    raw.write({ ack: { version: v1 } });
    // The next push must be a delta against v1, so the server has to hold the ACK first.
    await untilCounter("weft_discovery_acks_total", acks + 1);
    server.publish(model(7));
    await waitFor("snapshot 2 on the raw stream", () => raw.received.length === 2, SOON);
    assert.equal(raw.received[1]!.full, false);
    raw.write({ nack: { version: raw.received[1]!.version, reason: "base-mismatch: test" } });
    await waitFor("snapshot 3 on the raw stream", () => raw.received.length === 3, SOON);
    assert.equal(raw.received[2]!.full, true);
    assert.equal(raw.received[2]!.services.find((x) => x.name === "web")?.endpoints.length, 7);
    assert.equal(await counter("weft_discovery_nacks_total"), 1);
  });

  it("a proxy NACKs a snapshot it cannot use and keeps its last good state; the server counts it and sends nothing more until the view changes", async () => {
    const client = newClient(shopLeaf);
    const good = await client.waitFor((s) => s.services.size > 0);
    const nacked = new Promise<string>((resolve) => client.once("nack", (reason) => resolve(reason)));
    // A meshed endpoint without an identity: the proxy must refuse it.
    server.publish(mesh([service("shop", "web", [endpoint("10.0.0.9", { meshed: true, identity: "" })])], [namespace("shop", true)]));
    assert.match(await nacked, /no valid identity/);
    assert.equal(client.state, good);
    await waitFor("the server to hold one stream", () => server.stats().streams === 1, SOON);
    await waitFor("the server to count the NACK", async () => (await counter("weft_discovery_nacks_total")) >= 1, SOON);
    server.publish(model(8));
    await client.waitFor((s) => s.services.get("shop/web")?.endpoints.length === 8);
  });
});
