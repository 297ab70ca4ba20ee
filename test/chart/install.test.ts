// A user's first install on a real node: images imported into the node's containerd
// (no registry), `helm install` with default values, the webhook and control plane
// become Ready, and `helm uninstall` removes the webhook configuration first so pod
// creation in a labelled namespace keeps working afterwards.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AdmissionregistrationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { DEFAULT_ARCHIVE, importImages } from "../../images/import.ts";
import { kubernetesBinariesAvailable, nodeBinariesAvailable, startCluster, type TestCluster } from "../cluster/cluster.ts";
import { waitFor } from "../support/wait.ts";
import { BUSYBOX_IMAGE } from "../cluster/test-images.ts";
import { CHART, helm, helmBinary } from "./helm.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const NS = "weft-system";

describe("chart: install on a real node", function () {
  this.timeout(30 * 60_000);
  let cluster: TestCluster | undefined;
  let kubeHelm: (args: string[]) => ReturnType<typeof helm>;

  before(async function () {
    if (!kubernetesBinariesAvailable() || !nodeBinariesAvailable() || helmBinary() === undefined || process.getuid?.() !== 0) this.skip();
    // Always from the current sources: a stale archive would test old code.
    execFileSync(process.execPath, [join(root, "images", "build.ts")], { cwd: root, stdio: "inherit" });
    assert.ok(existsSync(DEFAULT_ARCHIVE));
    cluster = await startCluster({ node: true });
    // The node's containerd listens next to the cluster's files (test/cluster/node.ts).
    const socket = join(dirname(cluster.kubeconfigPath), "node", "containerd.sock");
    assert.ok(existsSync(socket), `containerd socket ${socket}`);
    await importImages(socket);
    const kubeconfig = cluster.kubeconfigPath;
    kubeHelm = (args) => helm([...args, "--kubeconfig", kubeconfig]);
  });
  after(async function () {
    this.timeout(180_000);
    await cluster?.stop();
  });

  const podsReady = async (component: string): Promise<boolean> => {
    const core = cluster!.kubeConfig.makeApiClient(CoreV1Api);
    const pods = await core.listNamespacedPod({ namespace: NS, labelSelector: `app.kubernetes.io/component=${component}` });
    return pods.items.length > 0 && pods.items.every((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
  };

  it("installs with one command and the webhook becomes Ready", async () => {
    const r = kubeHelm(["install", "weft", CHART, "-n", NS, "--create-namespace", "--set", "image.pullPolicy=Never"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /TRIAL IDENTITY/);
    await waitFor("webhook pod Ready", () => podsReady("webhook"), { timeoutMs: 300_000, intervalMs: 100 });
  });

  it("starts the control plane, Ready through its /ready probe", async function () {
    if (!existsSync(join(root, "control-plane", "src", "main.ts"))) this.skip();
    await waitFor("control plane pod Ready", () => podsReady("control-plane"), { timeoutMs: 300_000, intervalMs: 100 });
    // `helm test` is not run: its pod reaches the control plane by the Service's DNS name
    // (weft-control-plane.<namespace>.svc), and the test cluster runs no DNS (docs/testing.md;
    // its node does run kube-proxy). The pod's script is tested in hook-scripts.test.ts, and
    // the kubelet's readiness probe above asks the same /ready.
  });

  it("keeps the webhook's caBundle and the trial trust anchor across helm upgrade", async () => {
    const admission = cluster!.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    const core = cluster!.kubeConfig.makeApiClient(CoreV1Api);
    const anchor = async () => (await core.readNamespacedSecret({ name: "weft-identity-issuer", namespace: NS })).data?.["ca.crt"];
    const anchorBefore = await anchor();
    const before = (await admission.readMutatingWebhookConfiguration({ name: "weft-injector" })).webhooks?.[0]?.clientConfig.caBundle;
    const r = kubeHelm(["upgrade", "weft", CHART, "-n", NS, "--set", "image.pullPolicy=Never", "--set", "proxy.logLevel=debug"]);
    assert.equal(r.code, 0, r.stderr);
    const after = (await admission.readMutatingWebhookConfiguration({ name: "weft-injector" })).webhooks?.[0]?.clientConfig.caBundle;
    assert.ok(before);
    assert.equal(after, before);
    assert.ok(anchorBefore);
    assert.equal(await anchor(), anchorBefore);
  });

  it("uninstalls the webhook configuration first, and pods in labelled namespaces are still created", async () => {
    const app = await cluster!.createNamespace("app", { "weft.io/inject": "enabled" });
    // Helm 4 deletes webhook configurations before everything else (its uninstall order).
    const r = kubeHelm(["uninstall", "weft", "-n", NS, "--timeout", "3m", "--debug"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const deletions = (r.stdout + r.stderr).split("\n").filter((l) => l.includes("starting delete resource"));
    assert.match(deletions[0] ?? "", /kind=MutatingWebhookConfiguration/, `first deletion: ${deletions.join("\n")}`);
    const admission = cluster!.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    const list = await admission.listMutatingWebhookConfiguration();
    assert.deepEqual(list.items.filter((w) => w.metadata?.name === "weft-injector"), []);
    const core = cluster!.kubeConfig.makeApiClient(CoreV1Api);
    const pod = await core.createNamespacedPod({
      namespace: app,
      body: { metadata: { name: "after-uninstall" }, spec: { containers: [{ name: "web", image: BUSYBOX_IMAGE, imagePullPolicy: "Never" }] } },
    });
    assert.equal(pod.metadata?.annotations?.["weft.io/injected-by"], undefined);
  });
});
