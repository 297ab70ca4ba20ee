// `weft proxy-status` and `weft proxy-config` on the real node (issue 19),
// inside mesh-on-node.test.ts's install, over every meshed pod the earlier
// suites left running: each proxy's ACKed snapshot version against the one
// the control plane says is current for it, and one proxy's own view (its
// endpoints and certificates) naming that same version, all read through the
// Kubernetes API with the test's kubeconfig.
import assert from "node:assert/strict";
import type { TestCluster } from "../cluster/cluster.ts";
import { waitFor } from "../support/wait.ts";
import { weft } from "./weft-cli.ts";

interface StatusRow {
  namespace: string;
  pod: string;
  acked: string | null;
  current: string | null;
  status: string;
  certExpirySeconds: number | null;
}

export function describeInspection(getCluster: () => TestCluster): void {
  describe("inspecting proxies on the node", function () {
    it("weft proxy-status shows every meshed proxy on the version the control plane holds current for it", async function () {
      this.timeout(180_000);
      const kubeconfig = getCluster().kubeconfigPath;
      let rows: StatusRow[] = [];
      let last = "";
      await waitFor("every proxy SYNCED", async () => {
        const r = await weft(["proxy-status", "-A", "--kubeconfig", kubeconfig, "-o", "json"]);
        last = r.stdout + r.stderr;
        rows = (JSON.parse(r.stdout) as { proxies: StatusRow[] }).proxies;
        return r.code === 0 && rows.length > 0 && rows.every((p) => p.status === "SYNCED");
      }, { timeoutMs: 120_000, intervalMs: 2000 }).catch((err: unknown) => {
        throw new Error(`${String(err)}; last answer: ${last}`);
      });
      console.log(`      ${rows.length} proxies, all SYNCED`);
      for (const p of rows) {
        assert.equal(p.acked, p.current, `${p.namespace}/${p.pod}`);
        assert.ok((p.certExpirySeconds ?? 0) > 0, `${p.namespace}/${p.pod} has a certificate`);
      }
    });

    it("weft proxy-config shows one proxy's endpoints at the version it ACKed, and its certificate", async function () {
      this.timeout(120_000);
      const kubeconfig = getCluster().kubeconfigPath;
      const status = await weft(["proxy-status", "-A", "--kubeconfig", kubeconfig, "-o", "json"]);
      const proxy = (JSON.parse(status.stdout) as { proxies: StatusRow[] }).proxies.find((p) => p.status === "SYNCED");
      assert.ok(proxy, status.stdout);
      const endpoints = await weft(["proxy-config", `pod/${proxy.pod}`, "endpoints", "-n", proxy.namespace, "--kubeconfig", kubeconfig, "-o", "json"]);
      assert.equal(endpoints.code, 0, endpoints.stderr);
      const view = JSON.parse(endpoints.stdout) as { endpoints: { version: string; services: unknown[] } };
      assert.equal(view.endpoints.version, proxy.acked);
      assert.ok(view.endpoints.services.length > 0, "the proxy holds Services");
      const certs = await weft(["proxy-config", `pod/${proxy.pod}`, "certs", "-n", proxy.namespace, "--kubeconfig", kubeconfig, "-o", "json"]);
      assert.equal(certs.code, 0, certs.stderr);
      const leaf = (JSON.parse(certs.stdout) as { certs: { certificates: { spiffeId: string; expiresInSeconds: number }[] } }).certs.certificates[0];
      assert.match(leaf?.spiffeId ?? "", new RegExp(`^spiffe://cluster\\.local/ns/${proxy.namespace}/sa/`));
      assert.ok((leaf?.expiresInSeconds ?? 0) > 0);
    });
  });
}
