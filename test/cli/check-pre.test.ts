// `weft check --pre` against a real apiserver: passes as a cluster admin, and names the
// missing permissions as a ServiceAccount with none.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { kubernetesBinariesAvailable, useCluster } from "../cluster/cluster.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

function weft(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(root, "cli", "src", "main.ts"), ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

describe("weft check --pre on a real apiserver", function () {
  this.timeout(120_000);
  before(function () {
    if (!kubernetesBinariesAvailable()) this.skip();
  });
  const cluster = useCluster();

  it("passes for a cluster admin, with JSON output for machines", async () => {
    const r = await weft(["check", "--pre", "--kubeconfig", cluster().kubeconfigPath, "-o", "json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    assert.equal(out.ok, true);
    assert.deepEqual(out.checks.map((c) => [c.name, c.ok]), [["kubernetes-api", true], ["rbac-install", true]]);
  });

  it("says in one line, and exits 1, when the kubeconfig cannot be read", async () => {
    const r = await weft(["check", "--kubeconfig", "/nonexistent/kubeconfig"]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^weft check: ENOENT: no such file or directory, open '\/nonexistent\/kubeconfig'\n$/);
  });

  it("fails RBAC for a ServiceAccount without permissions, naming what is missing, and exits 1", async () => {
    const ns = await cluster().createNamespace("check");
    const kubeconfig = await cluster().kubeconfigFor(ns, "restricted");
    const r = await weft(["check", "--pre", "--kubeconfig", kubeconfig]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^✔ kubernetes-api: Kubernetes v1\.\d+/m);
    assert.match(r.stdout, /^✘ rbac-install: missing: create namespaces, create rbac\.authorization\.k8s\.io\/clusterroles/m);
    assert.match(r.stdout, /hint: run as a cluster admin/);
  });
});
