// The whole mesh, end to end on a real node: install the chart, point the
// proxies at the control plane's ClusterIP (no DNS in the test cluster; kube-proxy routes
// it), `weft check` passes, a client and a server get native sidecars and the server sees
// the client's SPIFFE id while a capture on the node's bridge sees only TLS between the
// two pods, authorization policies applied and deleted under traffic (authz-on-node.ts),
// the Gateway API conformance suite's Mesh profiles (gamma-conformance-on-node.ts), tap,
// stat and the inspection commands, the dashboard in a browser,
// CNI mode under Pod Security restricted (cni-on-node.ts), routine operations under
// load without a failed request (operations-on-node.ts), the live trust-anchor rotation
// under load (rotation-on-node.ts), helm upgrade of the log level, helm uninstall.
// Run: npx mocha --no-config --extension ts --timeout 20000 --exit test/e2e/mesh-on-node.test.ts
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { archiveOutdated, importImages } from "../../images/import.ts";
import { kubernetesBinariesAvailable, nodeBinariesAvailable, startCluster, type TestCluster } from "../cluster/cluster.ts";
import { startProcess } from "../support/process.ts";
import { waitFor } from "../support/wait.ts";
import { CHART, helm, helmBinary } from "../chart/helm.ts";
import { analyzeCapture } from "../netns/pcap.ts";
import { describeAuthorization } from "./authz-on-node.ts";
import { describeCni, snapshot as cniConfSnapshot } from "./cni-on-node.ts";
import { describeDashboard } from "./dashboard-on-node.ts";
import { describeGammaConformance } from "./gamma-conformance-on-node.ts";
import { describeInspection } from "./inspect-on-node.ts";
import { describeRouting } from "./routing-on-node.ts";
import { describeTap } from "./tap-on-node.ts";
import { describeMetrics } from "./metrics-on-node.ts";
import { describeRotation } from "./rotation-on-node.ts";
import { describeOperations } from "./operations-on-node.ts";
import { fetchThroughMesh } from "./pod-fetch.ts";
import { weft } from "./weft-cli.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const NS = "weft-system";

/** `weft check -o json`, printed for the log; asserts it passed (exit 0, every check ok). */
async function weftCheck(kubeconfig: string): Promise<{ name: string; ok: boolean; message: string }[]> {
  const check = await weft(["check", "--kubeconfig", kubeconfig, "-n", NS, "-o", "json"]);
  const out = JSON.parse(check.stdout) as { ok: boolean; checks: { name: string; ok: boolean; message: string }[] };
  for (const c of out.checks) console.log(`      ${c.ok ? "✔" : "✘"} ${c.name}: ${c.message}`);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.equal(out.ok, true);
  return out.checks;
}

describe("e2e: Weft on a real node", function () {
  this.timeout(30 * 60_000);
  let cluster: TestCluster | undefined;
  let kubeHelm: (args: string[]) => ReturnType<typeof helm>;
  let mesh = "";

  before(async function () {
    if (!kubernetesBinariesAvailable() || !nodeBinariesAvailable() || helmBinary() === undefined || process.getuid?.() !== 0) this.skip();
    const outdated = archiveOutdated(root);
    if (outdated) {
      console.log(`  building images: ${outdated}`);
      execFileSync(process.execPath, [join(root, "images", "build.ts")], { cwd: root, stdio: "inherit" });
    }
    cluster = await startCluster({ node: true });
    await importImages(join(dirname(cluster.kubeconfigPath), "node", "containerd.sock"));
    const kubeconfig = cluster.kubeconfigPath;
    kubeHelm = (args) => helm([...args, "--kubeconfig", kubeconfig]);
  });
  after(async function () {
    this.timeout(180_000);
    await cluster?.stop();
  });

  it("installs, points proxies at the control plane's ClusterIP, and weft check passes", async () => {
    const r = kubeHelm(["install", "weft", CHART, "-n", NS, "--create-namespace", "--set", "image.pullPolicy=Never"]);
    assert.equal(r.code, 0, r.stderr);
    const core = cluster!.kubeConfig.makeApiClient(CoreV1Api);
    const svc = await core.readNamespacedService({ name: "weft-control-plane", namespace: NS });
    const port = svc.spec?.ports?.find((p) => p.port === 8086)?.port ?? 8086;
    const up = kubeHelm(["upgrade", "weft", CHART, "-n", NS, "--reuse-values", "--set", `controlPlane.address=${svc.spec?.clusterIP ?? ""}:${port}`]);
    assert.equal(up.code, 0, up.stderr);
    const apps = cluster!.kubeConfig.makeApiClient(AppsV1Api);
    for (const name of ["weft-control-plane", "weft-webhook"]) {
      await waitFor(`${name} ready`, async () => {
        const d = await apps.readNamespacedDeployment({ name, namespace: NS });
        return (d.status?.readyReplicas ?? 0) >= (d.spec?.replicas ?? 1);
      }, { timeoutMs: 300_000, intervalMs: 1000 });
    }
    let checks: { name: string; ok: boolean; message: string }[] = [];
    const message = (name: string) => checks.find((c) => c.name === name)?.message ?? "";
    // From the node's host the ClusterIP is routed (kube-proxy), so the served certificate itself
    // is checked; polled because kube-proxy writes the webhook Service's rules a moment after it is ready.
    await waitFor("weft check to pass, with a handshake with the webhook", async () => {
      checks = await weftCheck(cluster!.kubeconfigPath);
      return /the webhook serves at/.test(message("webhook-ca-bundle"));
    }, { timeoutMs: 60_000, intervalMs: 2000 });
    assert.deepEqual(checks.map((c) => c.name), [
      "kubernetes-api", "control-plane", "webhook", "rbac-control-plane", "rbac-webhook", "webhook-ca-bundle", "trust-anchor", "issuer", "gateway-api", "proxies", "proxy-trust",
    ]);
    assert.match(message("webhook-ca-bundle"), /verifies the certificate the webhook serves at \d+\.\d+\.\d+\.\d+:443$/);
    assert.match(message("proxies"), /^no meshed pods running yet/);
  });

  it("injects native sidecars into a client and a server, and the server sees the client's SPIFFE id", async () => {
    const c = cluster!;
    const ns = await c.createNamespace("mesh", { "weft.io/inject": "enabled" });
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    const app = (name: string, sa: string, args: string[]) => ({
      metadata: { name, labels: { app: name } },
      spec: {
        serviceAccountName: sa,
        terminationGracePeriodSeconds: 2,
        containers: [{ name: "app", image: "weft.test/apps:0.1.0", imagePullPolicy: "Never", args }],
      },
    });
    for (const sa of ["client", "server"]) await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
    await core.createNamespacedPod({ namespace: ns, body: app("server", "server", ["test/fixtures/apps/http-echo.ts", "--port", "8080", "--host", "0.0.0.0"]) });
    const svc = await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: "server" }, spec: { selector: { app: "server" }, ports: [{ name: "http", port: 8080 }] } },
    });
    const url = `http://${svc.spec?.clusterIP ?? ""}:8080/`;
    let serverIP = "";
    await waitFor("server Ready", async () => {
      const pod = await core.readNamespacedPod({ name: "server", namespace: ns });
      serverIP = pod.status?.podIP ?? "";
      return pod.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True") === true;
    }, { timeoutMs: 300_000, intervalMs: 1000 });
    // Before the client exists, so the capture holds its connections from their first byte;
    // the kubelet's plaintext probes come from the gateway and are left out.
    const pcap = join(dirname(c.kubeconfigPath), "mesh.pcap");
    const tcpdump = startProcess("tcpdump", "tcpdump", ["-i", c.nodeHost!.bridge, "-U", "-s", "0", "-w", pcap, `tcp and host ${serverIP} and not host ${c.nodeHost!.nodeIP}`]);
    await tcpdump.waitForOutput(/listening on/);
    await core.createNamespacedPod({ namespace: ns, body: app("client", "client", ["test/images/apps/http-get.ts", url, "--every", "1000"]) });
    for (const name of ["server", "client"]) {
      await waitFor(`${name} Ready`, async () => {
        const pod = await core.readNamespacedPod({ name, namespace: ns });
        return pod.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True") === true;
      }, { timeoutMs: 300_000, intervalMs: 1000 });
      const pod = await core.readNamespacedPod({ name, namespace: ns });
      const sidecar = pod.spec?.initContainers?.find((x) => x.restartPolicy === "Always");
      assert.ok(sidecar, `${name} has a native sidecar: ${JSON.stringify(pod.spec?.initContainers?.map((x) => x.name))}`);
    }
    const body = await fetchThroughMesh(c, ns, "client", url);
    assert.match(body, new RegExp(`spiffe://cluster\\.local/ns/${ns}/sa/client`));
    mesh = ns;
    tcpdump.signal("SIGINT");
    await tcpdump.exited;
    const clientIP = (await core.readNamespacedPod({ name: "client", namespace: ns })).status?.podIP ?? "";
    const flows = analyzeCapture(pcap).filter((f) => f.flow.includes(`${clientIP}:`));
    assert.ok(flows.length >= 2, `both directions captured between ${clientIP} and ${serverIP}: ${JSON.stringify(flows)}`);
    for (const f of flows) assert.equal(f.isTls, true, `${f.flow} is TLS: ${f.reason ?? ""}`);
  });

  it("weft check sees the client's and the server's proxies connected and on their current version", async () => {
    let checks: { name: string; ok: boolean; message: string }[] = [];
    const proxies = () => checks.find((c) => c.name === "proxies")?.message ?? "";
    await waitFor("weft check to count both meshed pods", async () => {
      checks = await weftCheck(cluster!.kubeconfigPath);
      return /^2 meshed pods/.test(proxies());
    }, { timeoutMs: 120_000, intervalMs: 2000 });
    assert.match(proxies(), /^2 meshed pods, ([2-9]|\d\d+) discovery streams, all on their current version$/);
    assert.doesNotMatch(proxies(), /could not read/, "both proxies' /metrics were read through the apiserver");
  });

  // Child suites run after the parent's own tests, in order: authorization on the installed
  // mesh, the Gateway API conformance suite's Mesh profiles, then the upgrade and the
  // uninstall, which must come last.
  describeAuthorization(() => cluster!);
  describeRouting(() => cluster!);
  describeGammaConformance(() => cluster!);
  describeTap(() => cluster!);
  describeMetrics(() => cluster!);
  describeInspection(() => cluster!);
  describeDashboard(() => cluster!);
  // Before the operations suite, which leaves the release on a retagged image version.
  describeCni(() => cluster!);
  describeOperations(() => cluster!);
  // After the operations suite: the rotation reaches every proxy through two control-plane replicas,
  // proxies that lived through one being lost among them, and the upgrades below follow weft
  // identity's writes with plain helm upgrades (server-side apply finds no conflict).
  describeRotation(() => cluster!);

  describe("upgrading and uninstalling", () => {
    it("helm upgrade of the proxy's log level reaches newly created pods", async () => {
      const c = cluster!;
      const core = c.kubeConfig.makeApiClient(CoreV1Api);
      const sidecarOf = async (name: string) =>
        JSON.stringify((await core.readNamespacedPod({ name, namespace: mesh })).spec?.initContainers?.find((x) => x.restartPolicy === "Always"));
      assert.doesNotMatch(await sidecarOf("server"), /"debug"/);
      const up = kubeHelm(["upgrade", "weft", CHART, "-n", NS, "--reuse-values", "--set", "proxy.logLevel=debug"]);
      assert.equal(up.code, 0, up.stderr);
      const roll = await c.kubectl(["rollout", "status", "-n", NS, "deployment/weft-webhook", "--timeout", "180s"]);
      assert.equal(roll.code, 0, roll.stderr);
      await waitFor("a new pod injected with the debug level", async () => {
        await core.deleteNamespacedPod({ name: "later", namespace: mesh }).catch(() => undefined);
        await waitFor("old pod gone", async () => (await core.listNamespacedPod({ namespace: mesh, fieldSelector: "metadata.name=later" })).items.length === 0, { timeoutMs: 60_000, intervalMs: 500 });
        await core.createNamespacedPod({
          namespace: mesh,
          body: { metadata: { name: "later" }, spec: { containers: [{ name: "app", image: "weft.test/apps:0.1.0", imagePullPolicy: "Never", args: ["test/fixtures/apps/http-echo.ts", "--port", "8080"] }] } },
        });
        return /"debug"/.test(await sidecarOf("later"));
      }, { timeoutMs: 120_000, intervalMs: 2000 });
    });

    it("helm uninstall leaves no Weft object behind, the node's CNI conf dir as before install, and new pods in the labelled namespace still start", async () => {
      const c = cluster!;
      const host = c.nodeHost!;
      // Uninstalled with CNI mode on: the agent's exit must put the node's conf dir back byte for byte.
      // The CNI suite set cni.binDir/confDir, which --reuse-values keeps.
      const confBefore = cniConfSnapshot(host.cniConfDir);
      const on = kubeHelm(["upgrade", "weft", CHART, "-n", NS, "--reuse-values", "--set", "cni.enabled=true"]);
      assert.equal(on.code, 0, on.stderr);
      await waitFor("weft-cni in the node's chain", () => readdirSync(host.cniConfDir).some((f) => /weft-cni/.test(readFileSync(join(host.cniConfDir, f), "utf8"))), { timeoutMs: 180_000, intervalMs: 1000 });
      const r = kubeHelm(["uninstall", "weft", "-n", NS, "--timeout", "3m"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      await waitFor("the node's CNI conf dir as before", () => JSON.stringify([...cniConfSnapshot(host.cniConfDir)]) === JSON.stringify([...confBefore]), { timeoutMs: 120_000, intervalMs: 1000 });
      await waitFor("the plugin's files gone from the node", () => !readdirSync(host.cniBinDir).some((f) => f.startsWith("weft-cni")), { timeoutMs: 60_000, intervalMs: 500 });
      const left = await c.kubectl(["get", "deploy,svc,cm,secret,sa,clusterrole,clusterrolebinding,mutatingwebhookconfiguration", "-A", "-l", "app.kubernetes.io/instance=weft", "-o", "name"]);
      assert.equal(left.stdout.trim(), "", `left behind: ${left.stdout}${left.stderr}`);
      const core = c.kubeConfig.makeApiClient(CoreV1Api);
      await core.createNamespacedPod({
        namespace: mesh,
        body: { metadata: { name: "after-uninstall" }, spec: { containers: [{ name: "app", image: "weft.test/apps:0.1.0", imagePullPolicy: "Never", args: ["test/fixtures/apps/http-echo.ts", "--port", "8080"] }] } },
      });
      await waitFor("the pod Running without a sidecar", async () => {
        const pod = await core.readNamespacedPod({ name: "after-uninstall", namespace: mesh });
        return pod.status?.phase === "Running" && (pod.spec?.initContainers ?? []).length === 0;
      }, { timeoutMs: 120_000, intervalMs: 1000 });
    });
  });
});
