// Authorization through the discovery server: a proxy's group is chosen at its
// Hello (by its pod), and a policy change moves it to its new class's group and
// pushes a delta, with no full snapshot and no reconnect.
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import type { Snapshot__Output } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import type { AuthzPolicySpec } from "../../lib/authz/spec.ts";
import { startDiscoveryServer, type DiscoveryServer } from "../../control-plane/src/discovery-server.ts";
import type { MeshModel, PodModel } from "../../control-plane/src/mesh-state.ts";
import { DiscoveryClient } from "../../sidecar/src/discovery/client.ts";
import { createTestMesh, issueTestLeaf, type TestLeaf, type TestMesh } from "../fixtures/mesh-pki.ts";
import { waitFor } from "../support/wait.ts";
import { mesh, meshedEndpoint, namespace, service } from "./discovery-helpers.ts";

const SERVER_ID = "spiffe://cluster.local/ns/weft-system/sa/weft-control-plane";
const SOON = { timeoutMs: 15_000, intervalMs: 10 };

const pod = (name: string, labels: Record<string, string>): PodModel => ({ namespace: "shop", name, labels, defaultPolicy: null });

function model(policies: AuthzPolicySpec[], pods: PodModel[]): MeshModel {
  const m = mesh([service("shop", "web", [meshedEndpoint("10.0.0.1", "shop", "web", { pod: "shop/web-1" })])], [namespace("shop", true)]);
  return { ...m, authorization: { policies, meshDefault: { name: "all-authenticated", dryRun: false }, trustDomain: "cluster.local", pods: new Map(pods.map((p) => [`shop/${p.name}`, p])) } };
}

const goldOnly: AuthzPolicySpec = {
  namespace: "shop",
  name: "gold-only",
  target: { kind: "selector", selector: { matchLabels: { tier: "gold" }, matchExpressions: [] } },
  action: "ALLOW",
  rules: [{ from: [{ namespaces: ["vip"] }], to: [] }],
};

const names = (s: { policy: { inbound?: { authorization?: { policies: { name: string }[] } | null } | null } }): string[] =>
  (s.policy.inbound?.authorization?.policies ?? []).map((p) => p.name);

describe("discovery server: authorization per proxy", function () {
  this.timeout(60_000);
  let pki: TestMesh;
  let serverLeaf: TestLeaf;
  let webLeaf: TestLeaf;
  let server: DiscoveryServer;
  let registry: Registry;
  const clients: DiscoveryClient[] = [];

  before(async () => {
    pki = await createTestMesh();
    serverLeaf = await issueTestLeaf(pki, { namespace: "weft-system", serviceAccount: "weft-control-plane" });
    webLeaf = await issueTestLeaf(pki, { namespace: "shop", serviceAccount: "web" });
  });

  beforeEach(async () => {
    registry = new Registry();
    server = await startDiscoveryServer({
      host: "127.0.0.1",
      tls: serverLeaf,
      trustDomain: pki.trustDomain,
      initialModel: model([goldOnly], [pod("web-1", { app: "web" }), pod("web-2", { app: "web", tier: "gold" })]),
      debounce: { quietMs: 20, maxDelayMs: 100 },
      registry,
    });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.stop();
    await server.stop(500);
  });

  function proxy(workload: string): { client: DiscoveryClient; updates: Snapshot__Output[] } {
    const client = new DiscoveryClient({ address: `127.0.0.1:${server.port}`, tls: webLeaf, serverIdentity: SERVER_ID, backoff: { baseMs: 100, maxMs: 500 }, hello: { workload } });
    clients.push(client);
    const updates: Snapshot__Output[] = [];
    client.on("update", (_s, snap) => updates.push(snap));
    client.start();
    return { client, updates };
  }
  const pushes = async (kind: string) => (await registry.getSingleMetric("weft_discovery_pushes_total")?.get())?.values.find((v) => v.labels.kind === kind)?.value ?? 0;

  it("sends each proxy only the policies that select its pod, and moves a proxy whose pod changed class with a delta", async () => {
    const plain = proxy("web-1");
    const gold = proxy("web-2");
    const p1 = await plain.client.waitFor((s) => s.services.size > 0);
    const g1 = await gold.client.waitFor((s) => s.services.size > 0);
    assert.deepEqual(names(p1), []);
    assert.deepEqual(names(g1), ["shop/gold-only"]);
    assert.equal(server.stats().groups, 2);
    const fullsBefore = await pushes("full");

    // web-1 is labelled gold: its proxy moves to web-2's group and gets the policy as a delta.
    server.publish(model([goldOnly], [pod("web-1", { app: "web", tier: "gold" }), pod("web-2", { app: "web", tier: "gold" })]));
    const p2 = await plain.client.waitFor((s) => names(s).length === 1, 5000);
    assert.deepEqual(names(p2), ["shop/gold-only"]);
    assert.equal(plain.updates.at(-1)?.full, false);
    assert.equal(plain.updates.at(-1)?.baseVersion, p1.version);
    assert.equal(p2.version, gold.client.state?.version, "the two proxies now share one group and its version");

    // The policy itself changes: both get it as a delta.
    const wider: AuthzPolicySpec = { ...goldOnly, rules: [{ from: [{ namespaces: ["vip", "ops"] }], to: [] }] };
    server.publish(model([wider], [pod("web-1", { app: "web", tier: "gold" }), pod("web-2", { app: "web", tier: "gold" })]));
    for (const p of [plain, gold]) {
      const s = await p.client.waitFor((st) => st.policy.inbound?.authorization?.policies[0]?.rules[0]?.from[0]?.namespaces.length === 2, 5000);
      assert.equal(p.updates.at(-1)?.full, false);
      assert.ok(s.version);
    }
    assert.equal(await pushes("full"), fullsBefore, "no full snapshot after the first ones");
  });

  it("a proxy whose pod the model does not know yet gets deny-by-default until the pod appears", async () => {
    const early = proxy("web-3");
    const first = await early.client.waitFor((s) => s.services.size > 0);
    assert.equal(first.policy.inbound?.authorization?.defaultPolicy, "DEFAULT_DENY");
    assert.deepEqual(names(first), []);
    server.publish(model([goldOnly], [pod("web-1", {}), pod("web-2", { tier: "gold" }), pod("web-3", { tier: "gold" })]));
    const known = await early.client.waitFor((s) => s.policy.inbound?.authorization?.defaultPolicy === "DEFAULT_ALL_AUTHENTICATED", 5000);
    assert.deepEqual(names(known), ["shop/gold-only"]);
    assert.equal(early.updates.at(-1)?.full, false);
    await waitFor("one stream", () => server.stats().streams === 1, SOON);
  });
});
