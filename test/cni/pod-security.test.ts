// Injected pods against the real apiserver's Pod Security admission: in CNI
// mode every golden pod, with its app containers made restricted-compliant,
// is admitted (server-side dry-run create) by a namespace enforcing
// "restricted" and one enforcing "baseline"; the same pod injected with the
// privileged weft-proxy-init is refused by "baseline" for NET_ADMIN and
// NET_RAW, which shows the check has teeth.
// Run: flock /tmp/weft-node.lock npx mocha --no-config --timeout 20000 --exit test/cni/pod-security.test.ts
import assert from "node:assert/strict";
import { CoreV1Api, type V1Container, type V1Pod, type V1SecurityContext } from "@kubernetes/client-node";
import { CONTAINER_NAMES } from "../../lib/proxy-contract.ts";
import { injectPod } from "../../webhook/src/injector.ts";
import { kubernetesBinariesAvailable, useCluster } from "../cluster/cluster.ts";
import { goldenPods } from "../webhook/golden-cases.ts";

const RESTRICTED_APP: V1SecurityContext = {
  runAsNonRoot: true,
  runAsUser: 1000,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

const OURS: readonly string[] = Object.values(CONTAINER_NAMES);

/** The app's own containers made restricted-compliant; what the injector added is left as it is. */
function hardenApps(pod: V1Pod): V1Pod {
  const harden = (c: V1Container): V1Container => (OURS.includes(c.name) ? c : { ...c, securityContext: RESTRICTED_APP });
  const spec = pod.spec ?? { containers: [] };
  return { ...pod, spec: { ...spec, containers: spec.containers.map(harden), initContainers: spec.initContainers?.map(harden) } };
}

function forNamespace(pod: V1Pod, namespace: string): V1Pod {
  const { resourceVersion: _rv, uid: _uid, ...metadata } = pod.metadata ?? {};
  return { ...pod, metadata: { ...metadata, namespace, name: metadata.name ?? "pod" } };
}

async function dryRunCreate(core: CoreV1Api, namespace: string, pod: V1Pod): Promise<string | undefined> {
  const sa = pod.spec?.serviceAccountName;
  if (sa) await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: sa } } }).catch(() => undefined);
  try {
    await core.createNamespacedPod({ namespace, body: forNamespace(pod, namespace), dryRun: "All" });
    return undefined;
  } catch (error) {
    const body = (error as { body?: unknown }).body;
    return typeof body === "string" ? body : JSON.stringify(body ?? String(error));
  }
}

describe("injected pods under Pod Security admission (real apiserver)", function () {
  this.timeout(120_000);
  before(function () {
    if (!kubernetesBinariesAvailable()) this.skip();
  });
  const cluster = useCluster();
  const cniPods = goldenPods().filter((g) => g.config.cni !== undefined);

  it("in CNI mode, every injected golden pod passes the restricted and baseline profiles", async () => {
    const c = cluster();
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    const restricted = await c.createNamespace("restricted", { "pod-security.kubernetes.io/enforce": "restricted" });
    const baseline = await c.createNamespace("baseline", { "pod-security.kubernetes.io/enforce": "baseline" });
    assert.ok(cniPods.length >= 2, "the golden cases include CNI mode");
    for (const g of cniPods) {
      const { pod, decision } = injectPod(g.pod, g.namespace, g.config);
      assert.ok(decision.inject, `${g.caseName}: ${decision.message}`);
      for (const ns of [restricted, baseline]) {
        const refused = await dryRunCreate(core, ns, hardenApps(pod));
        assert.equal(refused, undefined, `${g.caseName} in ${ns}: ${refused}`);
      }
    }
  });

  it("the golden cni-mode pod is admitted by restricted as written, app included", async () => {
    const c = cluster();
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    const restricted = await c.createNamespace("restricted", { "pod-security.kubernetes.io/enforce": "restricted" });
    const g = cniPods.find((p) => p.caseName === "cni-mode");
    assert.ok(g, "golden case cni-mode");
    const refused = await dryRunCreate(core, restricted, injectPod(g.pod, g.namespace, g.config).pod);
    assert.equal(refused, undefined, refused);
  });

  it("without CNI mode the privileged init container is refused by baseline, naming NET_ADMIN and NET_RAW", async () => {
    const c = cluster();
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    const baseline = await c.createNamespace("baseline", { "pod-security.kubernetes.io/enforce": "baseline" });
    for (const g of cniPods) {
      const { cni: _cni, ...initMode } = g.config;
      const { pod } = injectPod(g.pod, g.namespace, initMode);
      const refused = await dryRunCreate(core, baseline, hardenApps(pod));
      assert.ok(refused, `${g.caseName}: admitted with weft-init`);
      assert.match(refused, /NET_ADMIN/);
      assert.match(refused, /NET_RAW/);
    }
  });
});
