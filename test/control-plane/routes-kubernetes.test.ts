// GAMMA routes against a real kube-apiserver with the vendored Gateway API
// CRDs: an HTTPRoute on a Service reaches a proxy's snapshot within the
// debounce window, and the route's status says Accepted/ResolvedRefs, or why
// a backend does not resolve.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, type V1CustomResourceDefinition } from "@kubernetes/client-node";
import { parse } from "yaml";
import type { Snapshot__Output } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import { startDiscoveryServer, type DiscoveryServer } from "../../control-plane/src/discovery-server.ts";
import { startKubernetesSource, type KubernetesSource } from "../../control-plane/src/source-kubernetes.ts";
import { DiscoveryClient } from "../../sidecar/src/discovery/client.ts";
import { CHART } from "../chart/helm.ts";
import { kubernetesBinariesAvailable, useCluster, waitFor } from "../cluster/cluster.ts";
import { createTestMesh, issueTestLeaf } from "../fixtures/mesh-pki.ts";
import { Registry } from "prom-client";

const DEBOUNCE = { quietMs: 100, maxDelayMs: 1000 };
const GROUP = "gateway.networking.k8s.io";

interface Condition {
  type: string;
  status: string;
  reason: string;
  observedGeneration: number;
}
interface RouteStatus {
  parents?: { controllerName: string; parentRef: { name: string }; conditions: Condition[] }[];
}

describe("GAMMA routes from a real Kubernetes apiserver", function () {
  this.timeout(180_000);
  before(function () {
    if (!kubernetesBinariesAvailable()) this.skip();
  });
  const cluster = useCluster();
  let server: DiscoveryServer | null = null;
  let source: KubernetesSource | null = null;
  let client: DiscoveryClient | null = null;

  after(async () => {
    client?.stop();
    await source?.stop();
    await server?.stop(500);
  });

  async function installCrds(): Promise<void> {
    const api = cluster().kubeConfig.makeApiClient(ApiextensionsV1Api);
    for (const plural of ["httproutes", "grpcroutes", "referencegrants"]) {
      const body = parse(readFileSync(join(CHART, "files", "gateway-api", "standard", `${GROUP}_${plural}.yaml`), "utf8")) as V1CustomResourceDefinition;
      try {
        await api.createCustomResourceDefinition({ body });
      } catch (err) {
        // Another file on the shared apiserver installed them already.
        if ((err as { code?: number }).code !== 409) throw err;
      }
      await waitFor(`the ${plural} CRD to be established`, async () => {
        const crd = await api.readCustomResourceDefinition({ name: `${plural}.${GROUP}` });
        return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
      });
    }
  }

  it("sends an HTTPRoute with a Service parent to the proxy within the debounce window, and writes its status, reporting an invalid backend", async () => {
    const c = cluster();
    await installCrds();
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    const custom = c.kubeConfig.makeApiClient(CustomObjectsApi);
    const ns = await c.createNamespace("gamma", { "weft.io/inject": "enabled" });
    for (const name of ["web", "web-v2"]) {
      await core.createNamespacedService({ namespace: ns, body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: 8080, appProtocol: "http" }] } } });
    }

    const pki = await createTestMesh();
    const serverLeaf = await issueTestLeaf(pki, { namespace: "weft-system", serviceAccount: "weft-control-plane" });
    server = await startDiscoveryServer({ host: "127.0.0.1", port: 0, tls: serverLeaf, trustDomain: pki.trustDomain, debounce: DEBOUNCE, registry: new Registry() });
    const s = server;
    source = startKubernetesSource({ kubeConfig: c.kubeConfig, trustDomain: pki.trustDomain, backoff: { baseMs: 200, maxMs: 2000 }, onModel: (build) => s.publish(build) });
    await source.whenSynced();
    const leaf = await issueTestLeaf(pki, { namespace: ns, serviceAccount: "client" });
    client = new DiscoveryClient({ address: `127.0.0.1:${server.port}`, tls: leaf, backoff: { baseMs: 100, maxMs: 1000 } });
    const updates: { at: number; snapshot: Snapshot__Output }[] = [];
    client.on("update", (_s, snapshot) => updates.push({ at: Date.now(), snapshot }));
    client.start();
    await waitFor("the first snapshot", () => updates.some((u) => u.snapshot.services.some((svc) => svc.name === "web")));

    const route = {
      apiVersion: `${GROUP}/v1`,
      kind: "HTTPRoute",
      metadata: { name: "canary", namespace: ns },
      spec: {
        parentRefs: [{ group: "", kind: "Service", name: "web", port: 80 }],
        rules: [{ name: "split", backendRefs: [{ name: "web", port: 80, weight: 90 }, { name: "web-v2", port: 80, weight: 10 }] }],
      },
    };
    const createdAt = Date.now();
    await custom.createNamespacedCustomObject({ group: GROUP, version: "v1", namespace: ns, plural: "httproutes", body: route });
    const carried = await waitFor("the route in a snapshot", () => updates.find((u) => u.snapshot.routes.some((r) => r.service === `${ns}/web`)), { timeoutMs: 20_000, intervalMs: 20 });
    assert.ok(carried.at - createdAt <= DEBOUNCE.maxDelayMs + 1000, `the route arrived ${carried.at - createdAt} ms after it was created`);
    assert.equal(carried.snapshot.full, false, "as a delta");
    const routes = carried.snapshot.routes.find((r) => r.service === `${ns}/web`)!;
    assert.deepEqual(routes.rules.map((r) => [r.route, r.name, r.kind]), [[`${ns}/canary`, "split", "HTTPRoute"]]);
    assert.deepEqual(routes.rules[0]!.backends.map((b) => [b.service, b.weight, b.invalid]), [[`${ns}/web`, 90, false], [`${ns}/web-v2`, 10, false]]);
    assert.deepEqual(routes.matches.map((m) => [m.port, m.path?.type, m.path?.value]), [[80, "PREFIX", "/"]]);

    const read = async () => (await custom.getNamespacedCustomObject({ group: GROUP, version: "v1", namespace: ns, plural: "httproutes", name: "canary" })) as { metadata: { generation: number }; status?: RouteStatus };
    const ours = (st: RouteStatus | undefined) => st?.parents?.find((p) => p.controllerName === "weft.io/mesh-controller");
    const reasons = (st: RouteStatus | undefined) => ours(st)?.conditions.map((cond) => `${cond.type}=${cond.status}/${cond.reason}`).sort();
    await waitFor("Accepted and ResolvedRefs", async () => reasons((await read()).status)?.join() === "Accepted=True/Accepted,ResolvedRefs=True/ResolvedRefs", { timeoutMs: 20_000 });
    assert.equal(ours((await read()).status)?.parentRef.name, "web");

    // A backend that does not exist: still routed (its share flagged), and the status says why.
    const withMissing = { ...route.spec, rules: [{ name: "split", backendRefs: [...route.spec.rules[0]!.backendRefs, { name: "missing", port: 80, weight: 5 }] }] };
    await custom.patchNamespacedCustomObject({ group: GROUP, version: "v1", namespace: ns, plural: "httproutes", name: "canary", body: [{ op: "replace", path: "/spec", value: withMissing }] });
    const current = await waitFor("ResolvedRefs BackendNotFound", async () => {
      const o = await read();
      return reasons(o.status)?.join() === "Accepted=True/Accepted,ResolvedRefs=False/BackendNotFound" ? o : undefined;
    }, { timeoutMs: 20_000 });
    assert.ok(ours(current.status)?.conditions.every((cond) => cond.observedGeneration === current.metadata.generation));
    await waitFor("the invalid backend flagged in the snapshot", () =>
      updates.some((u) => u.snapshot.routes.some((r) => r.rules[0]?.backends.some((b) => b.service === `${ns}/missing` && b.invalid))),
    );
  });
});
