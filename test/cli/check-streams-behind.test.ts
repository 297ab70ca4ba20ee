// The control plane metric `weft check` reads to tell whether proxies are on their current
// version: weft_discovery_streams_behind, against a real discovery server and real streams.
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Registry } from "prom-client";
import { loadProto } from "../../api/load.ts";
import type { ProtoGrpcType } from "../../api/gen/discovery.ts";
import type { Snapshot__Output } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import { metricSum, parseMetricsText } from "../../cli/src/metrics-text.ts";
import { startDiscoveryServer, type DiscoveryServer } from "../../control-plane/src/discovery-server.ts";
import type { MeshModel } from "../../control-plane/src/mesh-state.ts";
import { DiscoveryClient } from "../../sidecar/src/discovery/client.ts";
import { createTestMesh, issueTestLeaf, type TestLeaf } from "../fixtures/mesh-pki.ts";
import { mesh, meshedEndpoint, namespace, service } from "../control-plane/discovery-helpers.ts";
import { waitFor } from "../support/wait.ts";

const proto = loadProto<ProtoGrpcType>("discovery.proto").weft.discovery.v1;

function model(endpoints: number): MeshModel {
  const eps = Array.from({ length: endpoints }, (_, i) => meshedEndpoint(`10.0.0.${i + 1}`, "shop", "web"));
  return mesh([service("shop", "web", eps)], [namespace("shop", true)]);
}

const until = (what: string, check: () => Promise<boolean>) => waitFor(what, check, { timeoutMs: 20_000, intervalMs: 20 });

describe("weft check: the control plane's count of streams behind their current version", function () {
  this.timeout(60_000);
  let server: DiscoveryServer;
  let registry: Registry;
  let leaf: TestLeaf;
  const closers: (() => void)[] = [];

  before(async () => {
    const pki = await createTestMesh();
    leaf = await issueTestLeaf(pki, { namespace: "shop", serviceAccount: "web" });
    registry = new Registry();
    server = await startDiscoveryServer({
      host: "127.0.0.1",
      tls: await issueTestLeaf(pki, { namespace: "weft-system", serviceAccount: "weft-control-plane" }),
      trustDomain: pki.trustDomain,
      initialModel: model(1),
      debounce: { quietMs: 20, maxDelayMs: 50 },
      registry,
    });
  });

  after(async () => {
    for (const close of closers.splice(0)) close();
    await server.stop(500);
  });

  // Read as `weft check` reads it: the scraped text.
  const scrape = async () => {
    const samples = parseMetricsText(await registry.metrics());
    return { streams: metricSum(samples, "weft_discovery_streams"), behind: metricSum(samples, "weft_discovery_streams_behind") };
  };

  it("counts a stream until its proxy ACKs, again after each change, and not a proxy that keeps up", async () => {
    assert.deepEqual(await scrape(), { streams: 0, behind: 0 });
    const creds = grpc.credentials.createSsl(Buffer.from(leaf.anchorsPem), Buffer.from(leaf.keyPem), Buffer.from(leaf.certChainPem), { checkServerIdentity: () => undefined });
    const raw = new proto.Discovery(`127.0.0.1:${server.port}`, creds);
    closers.push(() => raw.close());
    const call = raw.Stream();
    call.on("error", () => undefined);
    const received: Snapshot__Output[] = [];
    call.on("data", (s: Snapshot__Output) => received.push(s));
    call.write({ hello: { workload: "web-1" } });
    await until("the first snapshot", async () => received.length === 1);
    assert.deepEqual(await scrape(), { streams: 1, behind: 1 }, "sent but not ACKed");
    call.write({ ack: { version: received[0]!.version } });
    await until("behind 0 after the ACK", async () => (await scrape()).behind === 0);

    server.publish(model(2));
    await until("the change reaches the stream", async () => received.length === 2);
    assert.deepEqual(await scrape(), { streams: 1, behind: 1 });

    // A real proxy ACKs by itself: only the raw stream stays behind.
    const client = new DiscoveryClient({ address: `127.0.0.1:${server.port}`, tls: leaf, serverIdentity: "spiffe://cluster.local/ns/weft-system/sa/weft-control-plane" });
    closers.push(() => client.stop());
    client.start();
    await client.waitFor((s) => s.services.get("shop/web")?.endpoints.length === 2);
    await until("two streams, one behind", async () => JSON.stringify(await scrape()) === JSON.stringify({ streams: 2, behind: 1 }));
    call.write({ ack: { version: received[1]!.version } });
    await until("none behind", async () => (await scrape()).behind === 0);
    call.end();
    await until("the raw stream gone", async () => (await scrape()).streams === 1);
  });
});
