// The agent's files on a node, in temporary bin and conf dirs: the plugin and
// its kubeconfig installed, weft-cni chained into the runtime's conflist and
// put back after the primary CNI rewrites it (the watch), and uninstall
// leaving the conf dir byte-identical and the bin dir as before.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CniAgent } from "../../cni/src/agent.ts";
import { ensureInChain, installPlugin, pluginPaths, uninstall, writeKubeconfig } from "../../cni/src/install.ts";
import { parsePluginKubeconfig } from "../../cni/src/kube-pod.ts";
import { systemClock } from "../../lib/clock.ts";
import { silentLogger } from "../../lib/log.ts";
import { ok } from "../../lib/result.ts";
import { waitFor } from "../support/wait.ts";

// Formatting of its own (tabs, no trailing newline): only a byte-for-byte restore gives it back.
const ORIGINAL = '{\n\t"cniVersion": "0.4.0",\n\t"name": "k8s",\n\t"plugins": [ {"type": "bridge", "bridge": "cni0"}, {"type": "loopback"} ]\n}';
const API = { server: "https://10.96.0.1:443", caPem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", token: "t0ken" };

function fakeApp(root: string): void {
  for (const dir of ["dist/cni/src", "dist/sidecar/src/capture", "dist/lib"]) {
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, "x.js"), "export {};\n");
  }
}

describe("the weft-cni agent's files on a node", () => {
  let dir = "";
  let bin = "";
  let conf = "";
  let app = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "weft-cni-"));
    bin = join(dir, "bin");
    conf = join(dir, "net.d");
    app = join(dir, "app");
    mkdirSync(bin);
    mkdirSync(conf);
    writeFileSync(join(bin, "bridge"), "#!/bin/true\n", { mode: 0o755 });
    writeFileSync(join(conf, "10-k8s.conflist"), ORIGINAL, { mode: 0o644 });
    fakeApp(app);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("installs the plugin, its kubeconfig and the chain entry; uninstall gives back the exact bytes and the bin dir as it was", () => {
    installPlugin(bin, { nodeBinary: process.execPath, appRoot: app });
    const p = pluginPaths(bin);
    assert.equal(statSync(p.launcher).mode & 0o777, 0o755);
    assert.match(readFileSync(p.launcher, "utf8"), new RegExp(`^#!${p.node}\\n`));
    assert.ok(writeKubeconfig(bin, API));
    assert.equal(writeKubeconfig(bin, API), false, "unchanged content is not rewritten");
    assert.deepEqual(parsePluginKubeconfig(readFileSync(p.kubeconfig, "utf8")), ok(API));
    assert.equal(statSync(p.kubeconfig).mode & 0o777, 0o600);

    const chained = ensureInChain({ binDir: bin, confDir: conf });
    assert.ok(chained.ok && chained.value.changed);
    const list = JSON.parse(readFileSync(join(conf, "10-k8s.conflist"), "utf8")) as { plugins: { type: string; kubeconfig?: string }[] };
    assert.deepEqual(list.plugins.map((x) => x.type), ["bridge", "loopback", "weft-cni"]);
    assert.equal(list.plugins[2]?.kubeconfig, p.kubeconfig);
    const again = ensureInChain({ binDir: bin, confDir: conf });
    assert.ok(again.ok && !again.value.changed);

    const removed = uninstall({ binDir: bin, confDir: conf });
    assert.ok(removed.ok);
    assert.equal(readFileSync(join(conf, "10-k8s.conflist"), "utf8"), ORIGINAL);
    assert.equal(statSync(join(conf, "10-k8s.conflist")).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(conf), ["10-k8s.conflist"]);
    assert.deepEqual(readdirSync(bin), ["bridge"]);
  });

  it("when the primary CNI rewrote the list meanwhile, uninstall takes out only its own entry", () => {
    installPlugin(bin, { nodeBinary: process.execPath, appRoot: app });
    assert.ok(ensureInChain({ binDir: bin, confDir: conf }).ok);
    const current = JSON.parse(readFileSync(join(conf, "10-k8s.conflist"), "utf8")) as { plugins: object[] };
    const rewritten = { cniVersion: "0.4.0", name: "k8s", plugins: [{ type: "bridge", bridge: "cni1" }, ...current.plugins.slice(1)] };
    writeFileSync(join(conf, "10-k8s.conflist"), JSON.stringify(rewritten, null, 2) + "\n");
    assert.ok(uninstall({ binDir: bin, confDir: conf }).ok);
    const left = JSON.parse(readFileSync(join(conf, "10-k8s.conflist"), "utf8")) as { plugins: { type: string; bridge?: string }[] };
    assert.deepEqual(left.plugins.map((x) => x.type), ["bridge", "loopback"]);
    assert.equal(left.plugins[0]?.bridge, "cni1");
  });

  it("the agent puts weft-cni back when the primary CNI rewrites the conflist, and reports it through the status file", async () => {
    const statusFile = join(dir, "status", "in-chain");
    const agent = new CniAgent({ binDir: bin, confDir: conf, source: { nodeBinary: process.execPath, appRoot: app }, apiAccess: () => ok(API), statusFile, resyncMs: 60_000, clock: systemClock, log: silentLogger() });
    agent.start();
    try {
      assert.match(readFileSync(statusFile, "utf8"), /10-k8s\.conflist/);
      // The primary CNI writes its own file again, without weft-cni.
      writeFileSync(join(conf, "10-k8s.conflist"), ORIGINAL);
      await waitFor("weft-cni back in the chain", () => readFileSync(join(conf, "10-k8s.conflist"), "utf8").includes("weft-cni"), { timeoutMs: 5000, intervalMs: 50 });
    } finally {
      agent.stop();
    }
    assert.equal(readFileSync(join(conf, "10-k8s.conflist"), "utf8"), ORIGINAL);
    assert.throws(() => statSync(statusFile));
    assert.deepEqual(readdirSync(bin), ["bridge"]);
  });

  it("with no conflist yet, the agent is not ready and says why", () => {
    rmSync(join(conf, "10-k8s.conflist"));
    const r = ensureInChain({ binDir: bin, confDir: conf });
    assert.ok(!r.ok);
    assert.match(r.message, /no \.conf, \.conflist or \.json/);
  });
});

