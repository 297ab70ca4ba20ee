// `weft stat` and `weft edges` end to end on the real node, with the chart's Prometheus
// (prometheus.enabled; the image built from the Go module proxy, test/prometheus/build.sh),
// run inside mesh-on-node.test.ts's install: a client sends POSTs at a steady rate to a
// Service backed by two server versions, 10 % of them to a path that answers 500; `weft
// stat deploy -n x`, through the apiserver's services/proxy, must agree with the client's
// own count within 5 %, and `weft edges` must show client -> each version with both SPIFFE
// ids and mTLS.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { AppsV1Api, CoreV1Api, type V1Deployment } from "@kubernetes/client-node";
import { importImages } from "../../images/import.ts";
import type { EdgesReport, StatReport } from "../../cli/src/prom-rows.ts";
import type { TestCluster } from "../cluster/cluster.ts";
import { CHART, helm } from "../chart/helm.ts";
import { prometheusBuilt, prometheusImageArchive } from "../prometheus/paths.ts";
import { waitFor } from "../support/wait.ts";
import { weft } from "./weft-cli.ts";

const WINDOW_S = 30;
const EVERY_MS = 100; // 10 requests a second

/**
 * The client: a POST every EVERY_MS on a fixed schedule (POSTs are not retried on a status, so
 * the servers answer exactly what was sent), every 10th to /status/500; a JSON line of its
 * running totals every second.
 */
function clientScript(url: string): string {
  return `
let sent = 0, ok = 0, failed = 0, errors = 0;
const start = Date.now();
const tick = () => {
  const i = sent++;
  fetch(${JSON.stringify(url)} + (i % 10 === 9 ? "status/500" : "ok"), { method: "POST", body: "x", signal: AbortSignal.timeout(5000) })
    .then((r) => { r.body?.cancel(); if (r.status === 500) failed++; else if (r.ok) ok++; else errors++; }, () => { errors++; });
  setTimeout(tick, start + (i + 1) * ${EVERY_MS} - Date.now());
};
tick();
setInterval(() => console.log(JSON.stringify({ t: Date.now(), sent, ok, failed, errors })), 1000);
`;
}

interface Tally {
  t: number;
  sent: number;
  ok: number;
  failed: number;
  errors: number;
}

export function describeMetrics(getCluster: () => TestCluster): void {
  describe("weft stat and edges with the chart's Prometheus", function () {
    let ns = "";
    let kubeconfig = "";

    before(async function () {
      this.timeout(600_000);
      if (!prometheusBuilt()) {
        console.log("      (skipped: Prometheus is not built; run bash test/prometheus/build.sh)");
        this.skip();
      }
      const c = getCluster();
      kubeconfig = c.kubeconfigPath;
      await importImages(join(dirname(c.kubeconfigPath), "node", "containerd.sock"), prometheusImageArchive());
      const up = helm(["upgrade", "weft", CHART, "-n", "weft-system", "--reuse-values", "--set", "prometheus.enabled=true", "--set", "prometheus.scrapeInterval=2s", "--kubeconfig", kubeconfig]);
      assert.equal(up.code, 0, up.stderr);
      const apps = c.kubeConfig.makeApiClient(AppsV1Api);
      const core = c.kubeConfig.makeApiClient(CoreV1Api);
      ns = await c.createNamespace("stat", { "weft.io/inject": "enabled" });
      for (const sa of ["client", "server"]) await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
      const deployment = (name: string, labels: Record<string, string>, sa: string, args: string[]): V1Deployment => ({
        metadata: { name },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { serviceAccountName: sa, terminationGracePeriodSeconds: 2, containers: [{ name: "app", image: "weft.test/apps:0.1.0", imagePullPolicy: "Never", args }] },
          },
        },
      });
      const echo = ["test/fixtures/apps/http-echo.ts", "--port", "8080", "--host", "0.0.0.0"];
      for (const v of ["v1", "v2"]) await apps.createNamespacedDeployment({ namespace: ns, body: deployment(`server-${v}`, { app: "server", version: v }, "server", echo) });
      const svc = await core.createNamespacedService({ namespace: ns, body: { metadata: { name: "server" }, spec: { selector: { app: "server" }, ports: [{ name: "http", port: 8080 }] } } });
      await apps.createNamespacedDeployment({ namespace: ns, body: deployment("client", { app: "client" }, "client", ["-e", clientScript(`http://${svc.spec?.clusterIP ?? ""}:8080/`)]) });
      for (const name of ["weft-prometheus"]) {
        await waitFor(`${name} ready`, async () => ((await apps.readNamespacedDeployment({ name, namespace: "weft-system" })).status?.readyReplicas ?? 0) >= 1, { timeoutMs: 300_000, intervalMs: 1000 });
      }
      for (const name of ["server-v1", "server-v2", "client"]) {
        await waitFor(`${name} ready`, async () => ((await apps.readNamespacedDeployment({ name, namespace: ns })).status?.readyReplicas ?? 0) >= 1, { timeoutMs: 300_000, intervalMs: 1000 });
      }
      // A full window of steady traffic, plus scrapes, before reading the rates.
      await new Promise((r) => setTimeout(r, (WINDOW_S + 15) * 1000));
    });

    /** The client's running totals, from its log: the last line and the one WINDOW_S before it. */
    async function clientTally(): Promise<{ rate: number; success: number }> {
      const r = await getCluster().kubectl(["logs", "-n", ns, "deploy/client", "-c", "app", "--tail", String(WINDOW_S + 10)]);
      const lines = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Tally);
      const last = lines[lines.length - 1];
      const first = lines.find((l) => last !== undefined && last.t - l.t <= WINDOW_S * 1000);
      assert.ok(last && first && last.t > first.t, `client log: ${r.stdout}`);
      const done = (x: Tally): number => x.ok + x.failed;
      return { rate: (last.sent - first.sent) / ((last.t - first.t) / 1000), success: (last.ok - first.ok) / (done(last) - done(first)) };
    }

    const within = (actual: number, expected: number, what: string): void => {
      assert.ok(Math.abs(actual - expected) <= 0.05 * expected, `${what}: ${actual}, expected ${expected} within 5 %`);
    };

    it("weft stat deploy: both server versions' rates and success rates agree with what the client sent", async () => {
      let report: StatReport = { window: "", rows: [] };
      const sent = await clientTally();
      await waitFor("both server versions in weft stat", async () => {
        const r = await weft(["stat", "deploy", "-n", ns, "--window", `${WINDOW_S}s`, "-o", "json", "--kubeconfig", kubeconfig]);
        assert.equal(r.code, 0, r.stderr);
        report = JSON.parse(r.stdout) as StatReport;
        return report.rows.filter((x) => x.name.startsWith("deploy/server-") && x.rps > 0).length === 2;
      }, { timeoutMs: 60_000, intervalMs: 3000 });
      console.log(`      client sent ${sent.rate.toFixed(2)} rps, ${(sent.success * 100).toFixed(1)} % ok; stat: ${JSON.stringify(report.rows)}`);
      const servers = report.rows.filter((x) => x.name.startsWith("deploy/server-"));
      within(servers.reduce((a, x) => a + x.rps, 0), sent.rate, "requests per second across both versions");
      const success = servers.reduce((a, x) => a + (x.successRate ?? 0) * x.rps, 0) / servers.reduce((a, x) => a + x.rps, 0);
      within(success, sent.success, "success rate across both versions");
      // Which version a failing request reaches is the balancer's choice (P2C/EWMA, not round robin): one
      // version may take every failure, so only the two together are held to what the client counted.
      assert.ok(servers.some((s) => (s.successRate ?? 1) < 1), `some version saw the failures: ${JSON.stringify(servers)}`);
      for (const s of servers) {
        assert.ok(s.successRate !== null && s.successRate >= 0 && s.successRate <= 1, `${s.name} success rate ${String(s.successRate)}`);
        assert.equal(s.tlsShare, 1, `${s.name}: all mTLS`);
        assert.equal(s.meshedPods, 1);
        assert.equal(s.totalPods, 1);
      }
      const client = report.rows.find((x) => x.name === "deploy/client");
      assert.equal(client?.meshedPods, 1, "the client's proxy is scraped too");
    });

    it("weft stat --from/--to deploy/NAME: a Deployment peer is the identity it runs as, and a shared one is called out", async () => {
      const sent = await clientTally();
      const from = await weft(["stat", "deploy", "-n", ns, "--from", "deploy/client", "--window", `${WINDOW_S}s`, "-o", "json", "--no-pods", "--kubeconfig", kubeconfig]);
      assert.equal(from.code, 0, from.stderr);
      assert.equal(from.stderr, "", "the client runs as a ServiceAccount of its own");
      const servers = (JSON.parse(from.stdout) as StatReport).rows.filter((x) => x.name.startsWith("deploy/server-"));
      within(servers.reduce((a, x) => a + x.rps, 0), sent.rate, "requests per second from deploy/client");
      // Both server versions run as ServiceAccount "server": the mesh cannot tell them apart as callees.
      const to = await weft(["stat", "deploy/client", "-n", ns, "--to", "deploy/server-v1", "--window", `${WINDOW_S}s`, "-o", "json", "--no-pods", "--kubeconfig", kubeconfig]);
      assert.equal(to.code, 0, to.stderr);
      assert.match(to.stderr, new RegExp(`^weft stat: --to: deploy/server-v1 is counted by its ServiceAccount ${ns}/server, .* which deploy/server-v2 also runs as`));
      within((JSON.parse(to.stdout) as StatReport).rows[0]?.rps ?? 0, sent.rate, "requests per second to the server identity");
      const missing = await weft(["stat", "deploy", "-n", ns, "--from", "deploy/nothing", "--kubeconfig", kubeconfig]);
      assert.equal(missing.code, 3, missing.stderr);
      assert.match(missing.stderr, /deployment "nothing" not found/);
    });

    it("a user without get services/proxy on the Prometheus Service is refused with a clear message", async () => {
      const nobody = await getCluster().kubeconfigFor(ns, "nobody");
      const r = await weft(["stat", "deploy", "-n", ns, "--kubeconfig", nobody, "--no-pods"]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /^weft stat: forbidden: .*services\/proxy.*needs get services\/proxy there, or --prometheus-url/m);
    });

    it("weft edges: client -> both server versions, both SPIFFE ids, mTLS", async () => {
      const r = await weft(["edges", "deploy/client", "-n", ns, "--window", `${WINDOW_S}s`, "-o", "json", "--kubeconfig", kubeconfig]);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as EdgesReport;
      const table = await weft(["edges", "deploy/client", "-n", ns, "--window", `${WINDOW_S}s`, "--kubeconfig", kubeconfig]);
      console.log(table.stdout.replace(/^/gm, "      "));
      assert.deepEqual(report.rows.map((x) => x.dst).sort(), [`${ns}/deploy/server-v1`, `${ns}/deploy/server-v2`], JSON.stringify(report.rows));
      for (const row of report.rows) {
        assert.equal(row.src, `${ns}/deploy/client`);
        assert.equal(row.srcIdentity, `spiffe://cluster.local/ns/${ns}/sa/client`);
        assert.equal(row.dstIdentity, `spiffe://cluster.local/ns/${ns}/sa/server`);
        assert.equal(row.mtls, true);
      }
    });
  });
}
