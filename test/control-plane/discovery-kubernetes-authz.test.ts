// Authorization from a real kube-apiserver: the control plane runs before the
// AuthorizationPolicy CRD exists (and says so once), picks the CRD up when it is
// installed (rendered from the chart), and an AuthorizationPolicy created then
// reaches the selected pod's proxy as a delta within the debounce window.
import assert from "node:assert/strict";
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, type V1Pod } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import type { Snapshot__Output } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import { AUTHZ_GROUP, AUTHZ_PLURAL, AUTHZ_VERSION } from "../../lib/authz/spec.ts";
import { startDiscoveryServer, type DiscoveryServer } from "../../control-plane/src/discovery-server.ts";
import { startKubernetesSource, type KubernetesSource } from "../../control-plane/src/source-kubernetes.ts";
import { DiscoveryClient } from "../../sidecar/src/discovery/client.ts";
import type { MeshState } from "../../sidecar/src/discovery/mesh-state.ts";
import { createTestMesh, issueTestLeaf } from "../fixtures/mesh-pki.ts";
import { helmBinary, render } from "../chart/helm.ts";
import { kubernetesBinariesAvailable, useCluster, waitFor } from "../cluster/cluster.ts";
import { recordingLogger } from "./discovery-helpers.ts";

const DEBOUNCE = { quietMs: 100, maxDelayMs: 1000 };
const CRD_NAME = `${AUTHZ_PLURAL}.${AUTHZ_GROUP}`;

describe("discovery: AuthorizationPolicies from a real Kubernetes apiserver", function () {
  this.timeout(180_000);
  before(function () {
    if (!kubernetesBinariesAvailable() || helmBinary() === undefined) this.skip();
  });
  const cluster = useCluster();
  let server: DiscoveryServer | null = null;
  let source: KubernetesSource | null = null;
  let client: DiscoveryClient | null = null;

  afterEach(async () => {
    client?.stop();
    await source?.stop();
    await server?.stop(500);
  });

  const names = (s: MeshState): string[] => (s.policy.inbound?.authorization?.policies ?? []).map((p) => `${p.name}:${p.ports.join(",")}`);

  it("runs without the CRD, then pushes a policy created once it is installed, as a delta, to the selected pod's proxy only", async () => {
    const c = cluster();
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    const extensions = c.kubeConfig.makeApiClient(ApiextensionsV1Api);
    const crdInstalled = async () => {
      try {
        const read = await extensions.readCustomResourceDefinition({ name: CRD_NAME });
        return read.status?.conditions?.some((x) => x.type === "Established" && x.status === "True") === true;
      } catch {
        return false;
      }
    };
    const installedBefore = await crdInstalled();

    const ns = await c.createNamespace("authz-disc", { "weft.io/inject": "enabled" });
    await c.createNode("authz-node", {});
    await core.createNamespacedService({ namespace: ns, body: { metadata: { name: "web" }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "web" }] } } });
    const meshedPod = (name: string, app: string): V1Pod => ({
      metadata: { name, labels: { app, "weft.io/meshed": "true" } },
      spec: { serviceAccountName: "default", containers: [{ name: app, image: "none", ports: [{ name: "web", containerPort: 8080 }] }] },
    });
    await c.createReadyPod(ns, meshedPod("web-1", "web"), "10.244.7.1", "authz-node");
    await c.createReadyPod(ns, meshedPod("other-1", "other"), "10.244.7.2", "authz-node");

    const pki = await createTestMesh();
    const serverLeaf = await issueTestLeaf(pki, { namespace: "weft-system", serviceAccount: "weft-control-plane" });
    const leaf = await issueTestLeaf(pki, { namespace: ns, serviceAccount: "default" });
    const s = (server = await startDiscoveryServer({ host: "127.0.0.1", tls: serverLeaf, trustDomain: pki.trustDomain, debounce: DEBOUNCE, registry: new Registry() }));
    const log = recordingLogger();
    let lastEventAt = 0;
    source = startKubernetesSource({
      kubeConfig: c.kubeConfig,
      trustDomain: pki.trustDomain,
      backoff: { baseMs: 200, maxMs: 1000 },
      logger: log.logger,
      onModel: (build) => {
        lastEventAt = Date.now();
        s.publish(build);
      },
    });
    const proxy = (workload: string) => {
      const p = new DiscoveryClient({ address: `127.0.0.1:${s.port}`, tls: leaf, backoff: { baseMs: 100, maxMs: 1000 }, hello: { workload } });
      const updates: { at: number; snapshot: Snapshot__Output }[] = [];
      p.on("update", (_st, snapshot) => updates.push({ at: Date.now(), snapshot }));
      p.start();
      return { client: p, updates };
    };
    const web = proxy("web-1");
    client = web.client;
    const other = proxy("other-1");
    const first = await web.client.waitFor((st) => st.services.has(`${ns}/web`), 60_000);
    assert.equal(first.policy.inbound?.authorization?.defaultPolicy, "DEFAULT_ALL_AUTHENTICATED");
    assert.deepEqual(names(first), []);
    await other.client.waitFor((st) => st.services.has(`${ns}/web`), 60_000);
    if (!installedBefore) {
      const absent = log.lines.filter((l) => typeof l.msg === "string" && l.msg.startsWith("the AuthorizationPolicy CRD is not installed"));
      assert.equal(absent.length, 1, "said once, however often it retried");
      // Through kubectl, byte for byte: client-node's typed serializer drops schema keys it models under other names.
      const crd = render().find((o) => o.kind === "CustomResourceDefinition" && o.metadata.name === CRD_NAME);
      assert.ok(crd, "the chart renders the CRD");
      const applied = await c.kubectl(["create", "-f", "-"], { input: JSON.stringify(crd) });
      assert.equal(applied.code, 0, applied.stderr);
      await waitFor("the CRD to be Established", crdInstalled, { timeoutMs: 60_000, intervalMs: 100 });
    }

    const objects = c.kubeConfig.makeApiClient(CustomObjectsApi);
    const body = {
      apiVersion: `${AUTHZ_GROUP}/${AUTHZ_VERSION}`,
      kind: "AuthorizationPolicy",
      metadata: { name: "web-from-checkout", namespace: ns },
      spec: { targetRefs: [{ kind: "Service", name: "web", port: 80 }], rules: [{ from: [{ serviceAccounts: [`${ns}/checkout`] }] }] },
    };
    // The informer may still be on its retry backoff (at most 1 s here) when this is created: it lists it when it starts.
    const from = web.updates.length;
    await objects.createNamespacedCustomObject({ group: AUTHZ_GROUP, version: AUTHZ_VERSION, namespace: ns, plural: AUTHZ_PLURAL, body });
    const created = Date.now();
    const withPolicy = await web.client.waitFor((st) => names(st).length === 1, 60_000);
    assert.deepEqual(names(withPolicy), [`${ns}/web-from-checkout:8080`], "the Service port 80 reaches the pod's 8080");
    const arrival = web.updates.slice(from).find((u) => u.snapshot.policy?.inbound?.authorization?.policies.length === 1);
    assert.ok(arrival);
    assert.equal(arrival.snapshot.full, false, "a delta");
    assert.ok(arrival.at - lastEventAt <= DEBOUNCE.maxDelayMs + 500, `${arrival.at - lastEventAt} ms after the source saw it`);
    assert.ok(arrival.at - created < 15_000);
    assert.deepEqual(names(other.client.state!), [], "a pod the policy does not select never gets it");

    await objects.deleteNamespacedCustomObject({ group: AUTHZ_GROUP, version: AUTHZ_VERSION, namespace: ns, plural: AUTHZ_PLURAL, name: "web-from-checkout" });
    await web.client.waitFor((st) => names(st).length === 0, 30_000);
    assert.equal(web.updates.at(-1)?.snapshot.full, false);
    other.client.stop();
  });
});
