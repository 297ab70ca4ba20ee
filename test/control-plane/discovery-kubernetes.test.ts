// Discovery against a real kube-apiserver and kube-controller-manager: Services,
// pods and the EndpointSlices the controller makes from them, streamed to a
// real proxy client over mTLS.
import assert from "node:assert/strict";
import { CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import type { Snapshot__Output } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import { startDiscoveryServer, type DiscoveryServer } from "../../control-plane/src/discovery-server.ts";
import { startKubernetesSource, type KubernetesSource } from "../../control-plane/src/source-kubernetes.ts";
import { DiscoveryClient } from "../../sidecar/src/discovery/client.ts";
import type { MeshState } from "../../sidecar/src/discovery/mesh-state.ts";
import { createTestMesh, issueTestLeaf, type TestLeaf, type TestMesh } from "../fixtures/mesh-pki.ts";
import { kubernetesBinariesAvailable, useCluster, waitFor } from "../cluster/cluster.ts";
import { recordingLogger } from "./discovery-helpers.ts";

const DEBOUNCE = { quietMs: 100, maxDelayMs: 1000 };

describe("discovery from a real Kubernetes apiserver", function () {
  this.timeout(180_000);
  before(function () {
    if (!kubernetesBinariesAvailable()) this.skip();
  });
  const cluster = useCluster();
  let pki: TestMesh;
  let serverLeaf: TestLeaf;
  let server: DiscoveryServer | null = null;
  let source: KubernetesSource | null = null;
  let client: DiscoveryClient | null = null;
  /** When the source last reported a change (the start of the debounce window). */
  let lastEventAt = 0;
  /** Models the source has handed the server since the control plane started. */
  let modelsPublished = 0;
  /** The source's log lines since the control plane started. */
  let sourceLog = recordingLogger();
  let registry = new Registry();
  /** Snapshots the server has written, counted as it writes them. */
  const pushesWritten = async () => (await registry.getSingleMetric("weft_discovery_pushes_total")?.get())?.values.reduce((a, v) => a + v.value, 0) ?? 0;

  before(async () => {
    pki = await createTestMesh();
    serverLeaf = await issueTestLeaf(pki, { namespace: "weft-system", serviceAccount: "weft-control-plane" });
  });

  async function startControlPlane(port = 0): Promise<void> {
    const c = cluster();
    registry = new Registry();
    server = await startDiscoveryServer({ host: "127.0.0.1", port, tls: serverLeaf, trustDomain: pki.trustDomain, debounce: DEBOUNCE, registry });
    const s = server;
    modelsPublished = 0;
    sourceLog = recordingLogger();
    source = startKubernetesSource({
      kubeConfig: c.kubeConfig,
      trustDomain: pki.trustDomain,
      backoff: { baseMs: 200, maxMs: 2000 },
      logger: sourceLog.logger,
      onModel: (build) => {
        lastEventAt = Date.now();
        modelsPublished++;
        s.publish(build);
      },
    });
  }

  /**
   * Waits until every informer has failed to reach the apiserver `times` times since log line `from`
   * (the first failure: it noticed; the next: its restart failed too). By then the source has been
   * through every path on which it could publish a partial or empty model.
   */
  async function informersFailed(from: number, times: number): Promise<void> {
    const failures = (resource: string) => sourceLog.lines.slice(from)
      .filter((l) => l.resource === resource && (l.msg === "watch failed; retrying" || l.msg === "informer start failed")).length;
    await waitFor(`every informer to fail ${times} times`, () => ["services", "endpointslices", "pods", "namespaces"].every((r) => failures(r) >= times));
  }

  async function stopControlPlane(): Promise<void> {
    await source?.stop();
    await server?.stop(500);
    source = null;
    server = null;
  }

  afterEach(async () => {
    client?.stop();
    client = null;
    await stopControlPlane();
  });

  const meshedPod = (name: string, sa: string): V1Pod => ({
    metadata: { name, labels: { app: "web", "weft.io/meshed": "true" } },
    spec: { serviceAccountName: sa, containers: [{ name: "web", image: "none", ports: [{ name: "web", containerPort: 8080 }] }] },
  });

  it("streams Services and endpoints, every change as a delta within the debounce window, and survives control-plane and apiserver restarts", async () => {
    const c = cluster();
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    const ns = await c.createNamespace("disc", { "weft.io/inject": "enabled" });
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "web" } } });
    await c.createNode("disc-node-a", { "topology.kubernetes.io/zone": "zone-a" });
    await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: "web", annotations: { "retry.weft.io/max-retries": "3" } }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "web", appProtocol: "http" }] } },
    });
    await c.createReadyPod(ns, meshedPod("web-1", "web"), "10.244.1.1", "disc-node-a");
    await c.createReadyPod(ns, meshedPod("web-2", "web"), "10.244.1.2", "disc-node-a");

    await startControlPlane();
    const leaf = await issueTestLeaf(pki, { namespace: ns, serviceAccount: "client" });
    client = new DiscoveryClient({ address: `127.0.0.1:${server!.port}`, tls: leaf, backoff: { baseMs: 100, maxMs: 1000 } });
    const updates: { at: number; snapshot: Snapshot__Output }[] = [];
    client.on("update", (_s, snapshot) => updates.push({ at: Date.now(), snapshot }));
    client.start();

    const key = `${ns}/web`;
    const eps = (s: MeshState) => s.services.get(key)?.endpoints ?? [];
    const first = await client.waitFor((s) => eps(s).length === 2, 60_000);
    const svc = first.services.get(key)!;
    assert.equal(svc.ports[0]?.appProtocol, "http");
    assert.equal(svc.clientPolicy?.retry?.maxRetries, 3);
    const e1 = eps(first).find((e) => e.address === "10.244.1.1")!;
    assert.deepEqual(e1.ports, { http: 8080 }, "the named target port resolved");
    assert.equal(e1.meshed, true);
    assert.equal(e1.identity, `spiffe://${pki.trustDomain}/ns/${ns}/sa/web`);
    assert.equal(e1.zone, "zone-a");
    assert.equal(e1.node, "disc-node-a");
    assert.equal(e1.pod, `${ns}/web-1`);
    assert.ok(first.services.has("default/kubernetes") === false, "unmeshed Services elsewhere are out of scope");

    /** Waits for the state, and checks it came as a delta no later than the debounce bound after the last event. */
    const expectDelta = async (what: string, predicate: (s: MeshState) => boolean) => {
      const from = updates.length;
      const state = await client!.waitFor(predicate, 60_000);
      const arrival = updates.slice(from).find((u) => u.snapshot.full === false && predicate(client!.state!)) ?? updates.at(-1)!;
      assert.equal(arrival.snapshot.full, false, `${what} arrived as a delta`);
      const lag = arrival.at - lastEventAt;
      assert.ok(lag <= DEBOUNCE.maxDelayMs + 500, `${what}: ${lag} ms after the last Kubernetes event`);
      return state;
    };

    // Scale up.
    await c.createReadyPod(ns, meshedPod("web-3", "web"), "10.244.1.3", "disc-node-a");
    await expectDelta("scale up", (s) => eps(s).length === 3);
    // Scale down.
    await core.deleteNamespacedPod({ name: "web-3", namespace: ns, gracePeriodSeconds: 0 });
    await expectDelta("scale down", (s) => eps(s).length === 2);
    // Not ready.
    const pod2 = await core.readNamespacedPodStatus({ name: "web-2", namespace: ns });
    pod2.status!.conditions = pod2.status!.conditions!.map((cond) => (cond.type === "Ready" || cond.type === "ContainersReady" ? { ...cond, status: "False" } : cond));
    await core.replaceNamespacedPodStatus({ name: "web-2", namespace: ns, body: pod2 });
    await expectDelta("not ready", (s) => eps(s).find((e) => e.address === "10.244.1.2")?.ready === false);
    // Terminating: no kubelet finishes the deletion, so the pod stays terminating.
    await core.deleteNamespacedPod({ name: "web-1", namespace: ns, gracePeriodSeconds: 300 });
    await expectDelta("terminating", (s) => eps(s).find((e) => e.address === "10.244.1.1")?.terminating === true);

    // Restart the control plane on the same port; the client keeps retrying and converges.
    const port = server!.port;
    const before = client.state!;
    await stopControlPlane();
    await waitFor("client to notice", async () => !client!.connected);
    assert.equal(client.state, before, "the last snapshot is kept while disconnected");
    await startControlPlane(port);
    const again = await client.waitFor((s) => s.version !== before.version, 60_000);
    assert.deepEqual(eps(again), eps(before));

    // Kill the apiserver for a while: nothing is pushed, the proxy keeps its state.
    const pushesBefore = updates.length;
    const writtenBefore = await pushesWritten();
    const logFrom = sourceLog.lines.length;
    await c.stopApiserver();
    await informersFailed(logFrom, 2);
    // Whatever the source published meanwhile is applied now, and a push it caused would be counted right here.
    server!.flushNow();
    assert.equal(await pushesWritten(), writtenBefore, "nothing pushed while the apiserver is away");
    assert.equal(updates.length, pushesBefore, "nothing received while the apiserver is away");
    assert.equal(eps(client.state!).length, 2);
    await c.startApiserver();
    await c.createReadyPod(ns, meshedPod("web-4", "web"), "10.244.1.4", "disc-node-a");
    await client.waitFor((s) => eps(s).some((e) => e.address === "10.244.1.4"), 90_000);
    assert.ok(updates.slice(pushesBefore).every((u) => (u.snapshot.services.find((x) => `${x.namespace}/${x.name}` === key)?.endpoints.length ?? 1) > 0), "never pushed empty");

    // Delete the Service.
    await core.deleteNamespacedService({ name: "web", namespace: ns });
    const gone = await expectDelta("service deletion", (s) => !s.services.has(key));
    assert.ok(updates.at(-1)!.snapshot.removedServices.includes(key));
    assert.equal(gone.services.has(key), false);
  });

  it("waits for an apiserver that is not there yet, then publishes", async () => {
    const c = cluster();
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    const ns = await c.createNamespace("late", { "weft.io/inject": "enabled" });
    await core.createNamespacedService({ namespace: ns, body: { metadata: { name: "api" }, spec: { ports: [{ name: "http", port: 80 }] } } });
    await c.stopApiserver();
    try {
      await startControlPlane();
      await informersFailed(0, 2);
      assert.equal(source!.synced(), false);
      assert.equal(modelsPublished, 0, "no model without the apiserver");
    } finally {
      await c.startApiserver();
    }
    await source!.whenSynced();
    const leaf = await issueTestLeaf(pki, { namespace: ns, serviceAccount: "client" });
    client = new DiscoveryClient({ address: `127.0.0.1:${server!.port}`, tls: leaf });
    client.start();
    await client.waitFor((s) => s.services.has(`${ns}/api`), 60_000);
  });
});
