import assert from "node:assert/strict";
import { CoreV1Api, DiscoveryV1Api, type V1EndpointSlice } from "@kubernetes/client-node";
import { waitFor } from "../support/wait.ts";
import { kubernetesBinariesAvailable, useCluster } from "./cluster.ts";

describe("test cluster: EndpointSlices", function () {
  this.timeout(120000);
  before(function () {
    if (!kubernetesBinariesAvailable()) this.skip();
  });
  const cluster = useCluster();

  it("publishes the endpoint of a ready pod selected by a Service, and withdraws it when the pod is deleted", async () => {
    const c = cluster();
    const ns = await c.createNamespace("eps");
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    const discovery = c.kubeConfig.makeApiClient(DiscoveryV1Api);
    await c.createNode("fake-node-a", { "topology.kubernetes.io/zone": "zone-a" });
    await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: "web" }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] } },
    });
    await c.createReadyPod(ns, { metadata: { name: "web-1", labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "none" }] } }, "10.244.7.7", "fake-node-a");

    const slicesOf = async (): Promise<V1EndpointSlice[]> =>
      (await discovery.listNamespacedEndpointSlice({ namespace: ns, labelSelector: "kubernetes.io/service-name=web" })).items;
    let published: V1EndpointSlice | undefined;
    await waitFor("the pod's endpoint in an EndpointSlice", async () => {
      published = (await slicesOf()).find((s) => (s.endpoints ?? []).some((e) => e.addresses.includes("10.244.7.7")));
      return published !== undefined;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    const endpoint = published?.endpoints?.find((e) => e.addresses.includes("10.244.7.7"));
    assert.equal(endpoint?.conditions?.ready, true);
    assert.equal(endpoint?.nodeName, "fake-node-a");
    assert.equal(endpoint?.zone, "zone-a");
    assert.equal(endpoint?.targetRef?.name, "web-1");
    assert.deepEqual(published?.ports?.map((p) => [p.name, p.port]), [["http", 8080]]);

    await core.deleteNamespacedPod({ name: "web-1", namespace: ns, gracePeriodSeconds: 0 });
    await waitFor("the endpoint to leave", async () =>
      (await slicesOf()).every((s) => !(s.endpoints ?? []).some((e) => e.addresses.includes("10.244.7.7"))), { timeoutMs: 60_000, intervalMs: 100 });
  });
});
