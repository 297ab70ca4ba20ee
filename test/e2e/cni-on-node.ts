// CNI mode on the real node (issue 22), inside mesh-on-node.test.ts's install:
// helm upgrade with cni.enabled=true puts weft-cni into the node's CNI chain
// (a bin dir of the test node's own, never the host's /usr/lib/cni) and the
// injector into CNI mode; in a namespace enforcing Pod Security "restricted" a
// meshed client and server start (the apiserver admits their specs), their
// traffic on the bridge is only TLS and the server sees the client's SPIFFE
// id; an unmeshed pod's network namespace has no nat rules of ours; turning
// CNI mode off leaves the node's CNI conf dir byte-identical to before.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { AppsV1Api, CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import type { TestCluster } from "../cluster/cluster.ts";
import { CHART, helm } from "../chart/helm.ts";
import { analyzeCapture } from "../netns/pcap.ts";
import { startProcess } from "../support/process.ts";
import { waitFor } from "../support/wait.ts";
import { fetchThroughMesh } from "./pod-fetch.ts";
import { weft } from "./weft-cli.ts";

const NS = "weft-system";
const RESTRICTED = { runAsNonRoot: true, runAsUser: 65532, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } };

/** Every file of a CNI conf dir, by name, as its exact bytes (base64). */
export function snapshot(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f)).toString("base64")]));
}

/** The network namespace (under /run/netns) holding this pod IP, read with ip(8) from the host. */
function netnsOf(podIP: string): string {
  for (const name of readdirSync("/run/netns").filter((n) => n.startsWith("cni-"))) {
    try {
      const addrs = execFileSync("ip", ["netns", "exec", name, "ip", "-o", "-4", "addr", "show"], { encoding: "utf8" });
      if (addrs.includes(` ${podIP}/`)) return name;
    } catch {
      // a sandbox going away meanwhile
    }
  }
  throw new Error(`no network namespace holds ${podIP}`);
}

function natOf(netns: string): string {
  return execFileSync("ip", ["netns", "exec", netns, "iptables-save", "-t", "nat"], { encoding: "utf8" });
}

function ready(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True") === true;
}

export function describeCni(getCluster: () => TestCluster): void {
  describe("CNI mode", function () {
    this.timeout(15 * 60_000);
    let before = new Map<string, string>();
    const kubeHelm = (args: string[]) => helm([...args, "--kubeconfig", getCluster().kubeconfigPath]);

    it("helm upgrade with cni.enabled=true chains weft-cni after the node's bridge plugin, and weft check sees it on every node", async () => {
      const c = getCluster();
      const host = c.nodeHost!;
      assert.notEqual(host.cniBinDir, "/usr/lib/cni");
      before = snapshot(host.cniConfDir);
      const up = kubeHelm(["upgrade", "weft", CHART, "-n", NS, "--reuse-values",
        "--set", "cni.enabled=true", "--set", `cni.binDir=${host.cniBinDir}`, "--set", `cni.confDir=${host.cniConfDir}`,
        // The node itself, where nothing listens on port 9: redirected, the dial never leaves the pod; not, it is refused at once.
        "--set", `cni.validationTarget=${host.nodeIP}:9`, "--set", "cni.resyncSeconds=2"]);
      assert.equal(up.code, 0, up.stderr);
      const apps = c.kubeConfig.makeApiClient(AppsV1Api);
      await waitFor("weft-cni DaemonSet ready", async () => {
        const ds = await apps.readNamespacedDaemonSet({ name: "weft-cni", namespace: NS }).catch(() => undefined);
        return (ds?.status?.numberReady ?? 0) >= 1 && ds?.status?.numberReady === ds?.status?.desiredNumberScheduled;
      }, { timeoutMs: 180_000, intervalMs: 1000 });
      const conflist = JSON.parse(readFileSync(join(host.cniConfDir, "10-weft.conflist"), "utf8")) as { plugins: { type: string }[] };
      assert.deepEqual(conflist.plugins.map((p) => p.type), ["bridge", "portmap", "loopback", "weft-cni"]);
      assert.ok(existsSync(join(host.cniBinDir, "weft-cni")), "the plugin is in the node's bin dir");
      assert.ok(!existsSync("/usr/lib/cni/weft-cni"), "nothing was written to the host's /usr/lib/cni");
      let message = "";
      await waitFor("weft check's cni check to pass", async () => {
        const r = await weft(["check", "--kubeconfig", c.kubeconfigPath, "-n", NS, "-o", "json"]);
        const out = JSON.parse(r.stdout) as { checks: { name: string; ok: boolean; message: string }[] };
        const cni = out.checks.find((x) => x.name === "cni");
        message = cni?.message ?? "(no cni check)";
        return cni?.ok === true;
      }, { timeoutMs: 60_000, intervalMs: 2000 }).catch((err: unknown) => {
        throw new Error(`${String(err)}; last: ${message}`);
      });
      console.log(`      ✔ cni: ${message}`);
      assert.match(message, /^weft-cni installed and in the CNI chain on 1\/1 nodes$/);
    });

    it("a meshed client and server run under Pod Security restricted, their hop is mTLS, and the server sees the client's SPIFFE id", async () => {
      const c = getCluster();
      const core = c.kubeConfig.makeApiClient(CoreV1Api);
      const ns = await c.createNamespace("cni", { "weft.io/inject": "enabled", "pod-security.kubernetes.io/enforce": "restricted" });
      const app = (name: string, sa: string, args: string[]): V1Pod => ({
        metadata: { name, labels: { app: name } },
        spec: {
          serviceAccountName: sa,
          terminationGracePeriodSeconds: 2,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [{ name: "app", image: "weft.test/apps:0.1.0", imagePullPolicy: "Never", args, securityContext: RESTRICTED }],
        },
      });
      for (const sa of ["client", "server"]) await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
      // The webhook reloads its configuration file when the ConfigMap's volume catches up: until then pods come out in init mode.
      await waitFor("the injector in CNI mode", async () => {
        const probe = await core.createNamespacedPod({ namespace: ns, dryRun: "All", body: app("probe", "server", ["test/fixtures/apps/http-echo.ts", "--port", "8080"]) }).catch(() => undefined);
        return probe?.spec?.initContainers?.some((x) => x.name === "weft-validate") === true;
      }, { timeoutMs: 180_000, intervalMs: 2000 });
      await core.createNamespacedPod({ namespace: ns, body: app("server", "server", ["test/fixtures/apps/http-echo.ts", "--port", "8080", "--host", "0.0.0.0"]) });
      const svc = await core.createNamespacedService({ namespace: ns, body: { metadata: { name: "server" }, spec: { selector: { app: "server" }, ports: [{ name: "http", port: 8080 }] } } });
      const url = `http://${svc.spec?.clusterIP ?? ""}:8080/`;
      let serverIP = "";
      await waitFor("server Ready", async () => {
        const pod = await core.readNamespacedPod({ name: "server", namespace: ns });
        serverIP = pod.status?.podIP ?? "";
        return ready(pod);
      }, { timeoutMs: 300_000, intervalMs: 1000 });
      const pcap = join(dirname(c.kubeconfigPath), "cni.pcap");
      const tcpdump = startProcess("tcpdump", "tcpdump", ["-i", c.nodeHost!.bridge, "-U", "-s", "0", "-w", pcap, `tcp and host ${serverIP} and not host ${c.nodeHost!.nodeIP}`]);
      await tcpdump.waitForOutput(/listening on/);
      await core.createNamespacedPod({ namespace: ns, body: app("client", "client", ["test/images/apps/http-get.ts", url, "--every", "1000"]) });
      for (const name of ["server", "client"]) {
        await waitFor(`${name} Ready`, async () => ready(await core.readNamespacedPod({ name, namespace: ns })), { timeoutMs: 300_000, intervalMs: 1000 });
        const pod = await core.readNamespacedPod({ name, namespace: ns });
        const inits = (pod.spec?.initContainers ?? []).map((x) => x.name);
        assert.deepEqual(inits, ["weft-validate", "weft-proxy"], `${name}'s init containers`);
        const validated = pod.status?.initContainerStatuses?.find((s) => s.name === "weft-validate");
        assert.equal(validated?.state?.terminated?.exitCode, 0, `${name}: weft-validate passed`);
        assert.equal(validated?.restartCount, 0, `${name}: weft-validate passed the first time (the plugin wrote the rules during sandbox setup)`);
      }
      const body = await fetchThroughMesh(c, ns, "client", url);
      assert.match(body, new RegExp(`spiffe://cluster\\.local/ns/${ns}/sa/client`));
      tcpdump.signal("SIGINT");
      await tcpdump.exited;
      const clientIP = (await core.readNamespacedPod({ name: "client", namespace: ns })).status?.podIP ?? "";
      const flows = analyzeCapture(pcap).filter((f) => f.flow.includes(`${clientIP}:`));
      assert.ok(flows.length >= 2, `both directions captured between ${clientIP} and ${serverIP}: ${JSON.stringify(flows)}`);
      for (const f of flows) assert.equal(f.isTls, true, `${f.flow} is TLS: ${f.reason ?? ""}`);
      assert.match(natOf(netnsOf(serverIP)), /-A PREROUTING -p tcp -m comment --comment weft -j WEFT_INBOUND/, "the plugin wrote the server's capture rules");

      // An unmeshed pod on the same node, sandboxed while weft-cni is in the chain: untouched.
      const plain = await c.createNamespace("plain");
      await core.createNamespacedPod({ namespace: plain, body: { metadata: { name: "plain" }, spec: { terminationGracePeriodSeconds: 2, containers: [{ name: "app", image: "weft.test/apps:0.1.0", imagePullPolicy: "Never", args: ["test/fixtures/apps/http-echo.ts", "--port", "8080"] }] } } });
      let plainIP = "";
      await waitFor("the unmeshed pod Ready", async () => {
        const pod = await core.readNamespacedPod({ name: "plain", namespace: plain });
        plainIP = pod.status?.podIP ?? "";
        return ready(pod);
      }, { timeoutMs: 180_000, intervalMs: 1000 });
      const nat = natOf(netnsOf(plainIP));
      assert.doesNotMatch(nat, /WEFT/, `the unmeshed pod's nat table:\n${nat}`);
      assert.doesNotMatch(nat, /^-A /m, `no nat rules at all in the unmeshed pod:\n${nat}`);
    });

    it("turning CNI mode off takes weft-cni out: the node's CNI conf dir is byte-identical to before, and its files are gone", async () => {
      const c = getCluster();
      const host = c.nodeHost!;
      const up = kubeHelm(["upgrade", "weft", CHART, "-n", NS, "--reuse-values", "--set", "cni.enabled=false"]);
      assert.equal(up.code, 0, up.stderr);
      await waitFor("the conf dir as before", async () => {
        const now = snapshot(host.cniConfDir);
        return JSON.stringify([...now]) === JSON.stringify([...before]);
      }, { timeoutMs: 120_000, intervalMs: 1000 });
      await waitFor("the plugin's files gone", async () => !readdirSync(host.cniBinDir).some((f) => f.startsWith("weft-cni")), { timeoutMs: 60_000, intervalMs: 500 });
      assert.deepEqual([...snapshot(host.cniConfDir).keys()], [...before.keys()]);
      // The webhook reloads its configuration when the ConfigMap's volume catches up (up to a minute): until
      // then new pods still get the validator, which fails without the plugin. Later suites create pods.
      const core = c.kubeConfig.makeApiClient(CoreV1Api);
      const ns = await c.createNamespace("cni-off", { "weft.io/inject": "enabled" });
      await waitFor("the injector back in init mode", async () => {
        const probe = await core.createNamespacedPod({ namespace: ns, dryRun: "All", body: { metadata: { name: "probe" }, spec: { containers: [{ name: "app", image: "weft.test/apps:0.1.0" }] } } }).catch(() => undefined);
        return probe?.spec?.initContainers?.some((x) => x.name === "weft-init") === true;
      }, { timeoutMs: 180_000, intervalMs: 2000 });
    });
  });
}
