import assert from "node:assert/strict";
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, Watch } from "@kubernetes/client-node";
import { waitFor } from "../support/wait.ts";
import { kubernetesBinariesAvailable, useCluster } from "./cluster.ts";

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
}

describe("test cluster: a restricted ServiceAccount through client-node", function () {
  this.timeout(120000);
  before(function () {
    if (!kubernetesBinariesAvailable()) this.skip();
  });
  const cluster = useCluster();

  it("lists and watches what its Role grants and is refused the rest by RBAC", async () => {
    const c = cluster();
    const ns = await c.createNamespace("rbac");
    const other = await c.createNamespace("rbac-other");
    const rbac = c.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: { metadata: { name: "pod-reader" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: "pod-reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace: ns }],
      },
    });
    const kc = new KubeConfig();
    kc.loadFromFile(await c.kubeconfigFor(ns, "reader"));
    const asReader = kc.makeApiClient(CoreV1Api);
    const admin = c.kubeConfig.makeApiClient(CoreV1Api);

    const seen: string[] = [];
    const watch = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns}/pods`,
      {},
      (phase: string, obj: { metadata?: { name?: string } }) => seen.push(`${phase} ${obj.metadata?.name ?? ""}`),
      () => undefined,
    );
    try {
      await admin.createNamespacedPod({ namespace: ns, body: { metadata: { name: "watched" }, spec: { containers: [{ name: "c", image: "none" }] } } });
      await waitFor("the watch to report the new pod", () => seen.includes("ADDED watched"), { timeoutMs: 60_000, intervalMs: 100 });
      const list = await asReader.listNamespacedPod({ namespace: ns });
      assert.deepEqual(list.items.map((p) => p.metadata?.name), ["watched"]);
    } finally {
      watch.abort();
    }

    await assert.rejects(asReader.listNamespacedSecret({ namespace: ns }), (err) => statusOf(err) === 403);
    await assert.rejects(asReader.listNamespacedPod({ namespace: other }), (err) => statusOf(err) === 403);
    await assert.rejects(asReader.listPodForAllNamespaces(), (err) => statusOf(err) === 403);
    await assert.rejects(
      asReader.createNamespacedPod({ namespace: ns, body: { metadata: { name: "nope" }, spec: { containers: [{ name: "c", image: "none" }] } } }),
      (err) => statusOf(err) === 403,
    );
  });
});
