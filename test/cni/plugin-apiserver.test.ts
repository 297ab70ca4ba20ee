// The weft-cni executable as the runtime runs it (environment, stdin, stdout),
// against a real apiserver and real network namespaces: ADD writes a meshed
// pod's capture rules into its namespace and answers the previous result;
// an unmeshed pod's namespace is left as it was; CHECK and the errors follow
// the CNI spec. Also prints the time one ADD takes.
// Run: flock /tmp/weft-node.lock npx mocha --no-config --timeout 20000 --exit test/cni/plugin-apiserver.test.ts
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api } from "@kubernetes/client-node";
import { installPlugin, kubeconfigText, pluginPaths } from "../../cni/src/install.ts";
import { ANNOTATIONS, LABELS } from "../../lib/proxy-contract.ts";
import { readNatTable } from "../../sidecar/src/capture/apply.ts";
import { captureInstalled } from "../../sidecar/src/capture/rules.ts";
import { kubernetesBinariesAvailable, useCluster } from "../cluster/cluster.ts";
import { NetnsLab, NODE, skipWithoutNetns } from "../netns/lab.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const PLUGIN = `${root}cni/src/main.ts`;
const PREV = { cniVersion: "1.0.0", interfaces: [{ name: "eth0", sandbox: "x" }], ips: [{ address: "10.1.0.5/24", interface: 0 }] };
const CAPTURE = ["--inbound-port", "4143", "--outbound-port", "4140", "--admin-port", "4191", "--proxy-uid", "2102"];

interface Run {
  status: number | null;
  out: Record<string, unknown> | null;
  stderr: string;
  ms: number;
}

describe("the weft-cni executable against a real apiserver and network namespaces", function () {
  this.timeout(120_000);
  before(function () {
    if (!kubernetesBinariesAvailable()) this.skip();
    skipWithoutNetns(this);
  });
  const cluster = useCluster();
  const lab = new NetnsLab();
  let dir = "";
  let kubeconfig = "";
  let ns = "";
  after(async () => {
    await lab.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  before(async () => {
    const c = cluster();
    dir = mkdtempSync(join(tmpdir(), "weft-cni-plugin-"));
    kubeconfig = join(dir, "kubeconfig");
    const current = c.kubeConfig.getCurrentCluster();
    const caPem = current?.caData ? Buffer.from(current.caData, "base64").toString("utf8") : readFileSync(current?.caFile ?? "", "utf8");
    writeFileSync(kubeconfig, kubeconfigText({ server: c.server, caPem, token: c.kubeConfig.getCurrentUser()?.token ?? "" }));
    ns = await c.createNamespace("cni-plugin");
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    const pod = (name: string, labels: Record<string, string>, annotations: Record<string, string>) =>
      core.createNamespacedPod({ namespace: ns, body: { metadata: { name, labels, annotations }, spec: { containers: [{ name: "app", image: "registry.invalid/app:1" }] } } });
    await pod("meshed", { [LABELS.meshed]: "true" }, { [ANNOTATIONS.cniCapture]: JSON.stringify(CAPTURE) });
    await pod("plain", {}, {});
    await pod("bad-flags", { [LABELS.meshed]: "true" }, { [ANNOTATIONS.cniCapture]: '["--inbound-port","none"]' });
  });

  function plugin(command: string, pod: string, netns: string, conf: object = {}, executable: string[] = [NODE, PLUGIN]): Run {
    const env = { ...process.env, CNI_COMMAND: command, CNI_CONTAINERID: `c-${pod}`, CNI_NETNS: `/run/netns/${netns}`, CNI_IFNAME: "eth0", CNI_PATH: "/usr/lib/cni", CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${ns};K8S_POD_NAME=${pod}` };
    const stdin = JSON.stringify({ cniVersion: "1.0.0", name: "k8s", type: "weft-cni", kubeconfig, prevResult: PREV, ...conf });
    const start = performance.now();
    const [file = NODE, ...args] = executable;
    const r = spawnSync(file, args, { env, input: stdin, encoding: "utf8" });
    const ms = performance.now() - start;
    return { status: r.status, out: r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : null, stderr: r.stderr, ms };
  }

  const installed = (netns: string) => {
    const save = readNatTable("ipv4", { netns: `/run/netns/${netns}` });
    assert.ok(save.ok);
    return { capture: captureInstalled(save.value), save: save.value };
  };

  it("ADD for a meshed pod writes its capture rules in its namespace and answers the previous result", () => {
    const netns = lab.namespace("meshed");
    const r = plugin("ADD", "meshed", netns);
    assert.equal(r.status, 0, JSON.stringify(r));
    assert.deepEqual(r.out, PREV);
    assert.ok(installed(netns).capture);
    const check = plugin("CHECK", "meshed", netns);
    assert.equal(check.status, 0, JSON.stringify(check));
    // Idempotent: a repeated ADD (a runtime retry) leaves one set of jumps.
    assert.equal(plugin("ADD", "meshed", netns).status, 0);
    assert.equal(installed(netns).save.split("\n").filter((l) => l.includes("-j WEFT_INBOUND")).length, 1);
  });

  it("ADD for an unmeshed pod leaves its namespace without a nat rule", () => {
    const netns = lab.namespace("plain");
    const r = plugin("ADD", "plain", netns);
    assert.equal(r.status, 0, JSON.stringify(r));
    assert.deepEqual(r.out, PREV);
    assert.doesNotMatch(installed(netns).save, /^-A /m);
  });

  it("fails with a CNI error naming the pod when it is missing, its flags are bad, or its rules are gone", () => {
    const netns = lab.namespace("errors");
    const missing = plugin("ADD", "nope", netns);
    assert.equal(missing.status, 1);
    assert.equal(missing.out?.code, 100);
    assert.match(String(missing.out?.msg), new RegExp(`cannot read pod ${ns}/nope: .*HTTP 404`));
    const bad = plugin("ADD", "bad-flags", netns);
    assert.equal(bad.out?.code, 101);
    assert.match(String(bad.out?.msg), /inbound-port/);
    const unchecked = plugin("CHECK", "meshed", netns);
    assert.equal(unchecked.out?.code, 103);
    const version = plugin("ADD", "meshed", netns, { cniVersion: "0.2.0" });
    assert.equal(version.out?.code, 1);
  });

  it("costs one Node start, one GET and two iptables runs per ADD (printed)", function () {
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const time = (label: string, executable: string[]) => {
      const meshed: number[] = [];
      const plain: number[] = [];
      for (let i = 0; i < 7; i++) {
        const m = plugin("ADD", "meshed", lab.namespace(`t${i}`), {}, executable);
        assert.equal(m.status, 0, JSON.stringify(m));
        meshed.push(m.ms);
        plain.push(plugin("ADD", "plain", lab.namespace(`p${i}`), {}, executable).ms);
      }
      console.log(`      ${label}: ADD meshed median ${median(meshed).toFixed(0)} ms, unmeshed ${median(plain).toFixed(0)} ms`);
      return median(meshed);
    };
    const bare: number[] = [];
    for (let i = 0; i < 7; i++) {
      const start = performance.now();
      spawnSync(NODE, ["-e", "0"]);
      bare.push(performance.now() - start);
    }
    console.log(`      node -e 0: median ${median(bare).toFixed(0)} ms`);
    assert.ok(time("from the TypeScript sources", [NODE, PLUGIN]) < 5000);
    // As installed on a node: the launcher and the compiled modules (after npm run build).
    if (existsSync(`${root}dist/cni/src/main.js`)) {
      const bin = join(dir, "bin");
      installPlugin(bin, { nodeBinary: NODE, appRoot: root });
      assert.ok(time("as installed (launcher, compiled)", [pluginPaths(bin).launcher]) < 5000);
    }
  });
});
