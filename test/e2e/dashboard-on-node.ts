// The dashboard end to end on the real node (issue 20), inside mesh-on-node.test.ts's
// install: the chart's dashboard (dashboard.enabled, with its Prometheus) reached by
// `weft dashboard --no-browser` through the apiserver's pods/portforward, driven in
// headless chromium. With a client calling a server about ten times a second, the graph
// shows the client→server edge with its rate, the server's page shows figures that agree
// with `weft stat -o json` and charts, and the tap view shows a request the test sends.
// Screenshots of the graph and the workload page go to the test artifacts.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AppsV1Api, CoreV1Api, type V1Deployment } from "@kubernetes/client-node";
import type { Browser, Page } from "puppeteer-core";
import { importImages } from "../../images/import.ts";
import { LABELS } from "../../lib/proxy-contract.ts";
import type { EdgesReport, StatReport } from "../../cli/src/prom-rows.ts";
import type { TestCluster } from "../cluster/cluster.ts";
import { CHART, helm } from "../chart/helm.ts";
import { artifactsDir, browserPath, graphRendered, launch, openPage } from "../dashboard/browser.ts";
import { prometheusBuilt, prometheusImageArchive } from "../prometheus/paths.ts";
import { StopWaiting, waitFor } from "../support/wait.ts";
import { weft } from "./weft-cli.ts";

const CLI = fileURLToPath(new URL("../../cli/src/main.ts", import.meta.url));
const NS = "weft-system";
const WINDOW = "30s";

/** `weft dashboard --no-browser --port 0`: resolves with the URL it prints. */
function startDashboardCli(kubeconfig: string): { child: ChildProcess; url: Promise<string>; output: () => string } {
  const child = spawn(process.execPath, [CLI, "dashboard", "--no-browser", "--port", "0", "--kubeconfig", kubeconfig], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const url = new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /Weft dashboard at (http:\/\/\S+\/)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.once("exit", (code) => reject(new Error(`weft dashboard exited ${String(code)}: ${out}`)));
  });
  return { child, url, output: () => out };
}

const near = (actual: number, expected: number, share: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) <= share * Math.abs(expected), `${what}: ${actual}, expected ${expected} within ${share * 100} %`);
};

export function describeDashboard(getCluster: () => TestCluster): void {
  describe("the dashboard in a browser on the node", function () {
    let ns = "";
    let kubeconfig = "";
    let browser: Browser | undefined;
    let cli: ReturnType<typeof startDashboardCli> | undefined;
    let url = "";
    let serverIP = "";
    let page: Page;
    let errors: string[] = [];

    before(async function () {
      this.timeout(600_000);
      if (!browserPath("chromium") || !prometheusBuilt()) {
        console.log("      (skipped: needs chromium and the test Prometheus; node test/setup/prepare.ts)");
        this.skip();
      }
      const c = getCluster();
      kubeconfig = c.kubeconfigPath;
      await importImages(join(dirname(kubeconfig), "node", "containerd.sock"), prometheusImageArchive());
      const up = helm(["upgrade", "weft", CHART, "-n", NS, "--reuse-values", "--set", "prometheus.enabled=true", "--set", "prometheus.scrapeInterval=2s", "--set", "dashboard.enabled=true", "--set", "dashboard.window=30s", "--set", "dashboard.jaegerUrl=http://localhost:16686", "--kubeconfig", kubeconfig]);
      assert.equal(up.code, 0, up.stderr);
      const apps = c.kubeConfig.makeApiClient(AppsV1Api);
      const core = c.kubeConfig.makeApiClient(CoreV1Api);
      ns = await c.createNamespace("dash", { "weft.io/inject": "enabled" });
      for (const sa of ["client", "server"]) await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
      const deployment = (name: string, args: string[]): V1Deployment => ({
        metadata: { name },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: name } },
          template: { metadata: { labels: { app: name } }, spec: { serviceAccountName: name, terminationGracePeriodSeconds: 2, containers: [{ name: "app", image: "weft.test/apps:0.1.0", imagePullPolicy: "Never", args }] } },
        },
      });
      await apps.createNamespacedDeployment({ namespace: ns, body: deployment("server", ["test/fixtures/apps/http-echo.ts", "--port", "8080", "--host", "0.0.0.0"]) });
      const svc = await core.createNamespacedService({ namespace: ns, body: { metadata: { name: "server" }, spec: { selector: { app: "server" }, ports: [{ name: "http", port: 8080 }] } } });
      serverIP = svc.spec?.clusterIP ?? "";
      await apps.createNamespacedDeployment({ namespace: ns, body: deployment("client", ["test/images/apps/http-get.ts", `http://${serverIP}:8080/steady`, "--every", "100"]) });
      // The webhook's failurePolicy is Ignore: a pod admitted uninjected on a loaded node is replaced by its ReplicaSet.
      await waitFor("client and server injected and Ready", async () => {
        const pods = (await core.listNamespacedPod({ namespace: ns })).items.filter((p) => !p.metadata?.deletionTimestamp);
        for (const p of pods.filter((x) => x.metadata?.labels?.[LABELS.meshed] !== "true")) await core.deleteNamespacedPod({ namespace: ns, name: p.metadata?.name ?? "", gracePeriodSeconds: 0 });
        return pods.length === 2 && pods.every((p) => p.metadata?.labels?.[LABELS.meshed] === "true" && p.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True") === true);
      }, { timeoutMs: 300_000, intervalMs: 1000 });
      for (const name of ["weft-prometheus", "weft-dashboard"]) {
        await waitFor(`${name} ready`, async () => ((await apps.readNamespacedDeployment({ name, namespace: NS })).status?.readyReplicas ?? 0) >= 1, { timeoutMs: 300_000, intervalMs: 1000 });
      }
      // The tap view needs the aggregated tap API, Available once the apiserver has reached it.
      await waitFor("APIService v1alpha1.tap.weft.io Available", async () => {
        const r = await c.kubectl(["get", "apiservice", "v1alpha1.tap.weft.io", "-o", "jsonpath={.status.conditions[?(@.type==\"Available\")].status}"]);
        return r.stdout.trim() === "True";
      }, { timeoutMs: 120_000, intervalMs: 1000 });
      cli = startDashboardCli(kubeconfig);
      url = await cli.url;
      console.log(`      weft dashboard: ${url}`);
      browser = await launch("chromium");
      // The page stays open across the tests, as a user's would.
      ({ page, errors } = await openPage(browser));
      page.setDefaultTimeout(60_000);
    });
    after(async () => {
      await browser?.close();
      if (cli && cli.child.exitCode === null) cli.child.kill("SIGINT");
    });

    it("the graph shows the client→server edge with its rate, as weft edges does", async function () {
      this.timeout(360_000);
      const client = `${ns}/deploy/client`;
      const server = `${ns}/deploy/server`;
      /** The edge's row on a freshly loaded graph page: its rate and mTLS. */
      const graphEdge = async (): Promise<{ rate: number; mtls: boolean } | undefined> => {
        await page.goto(`${url}#/graph/${ns}`);
        await page.reload();
        await graphRendered(page, 30_000);
        const rows = (await page.$$eval("[data-testid=edge-table] tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")))) as string[][];
        const edge = rows.find((r) => r[0] === client && r[1] === server);
        return edge ? { rate: Number(/^([\d.]+)rps$/.exec(edge[2] ?? "")?.[1] ?? 0), mtls: edge[4] === "yes" } : undefined;
      };
      const edgesRate = async (): Promise<number> => {
        const r = await weft(["edges", "deploy/client", "-n", ns, "--window", WINDOW, "-o", "json", "--kubeconfig", kubeconfig]);
        assert.equal(r.code, 0, r.stderr);
        const row = (JSON.parse(r.stdout) as EdgesReport).rows.find((x) => x.src === client && x.dst === server);
        assert.ok(row?.mtls, r.stdout);
        return row.rps;
      };
      // A full window of traffic and a few scrapes: the edge is there, mTLS, and its rate has stopped climbing.
      let previous = 0;
      await waitFor("the client→server edge on the graph at a steady rate", async () => {
        const edge = await graphEdge();
        const steady = edge !== undefined && edge.mtls && edge.rate > 2 && Math.abs(edge.rate - previous) <= 0.05 * edge.rate;
        previous = edge?.rate ?? 0;
        return steady;
      }, { timeoutMs: 300_000, intervalMs: 5000 });
      // The page's rate is read between two runs of weft edges: it lies between them (5 % either side).
      const before = await edgesRate();
      const edge = await graphEdge();
      const after = await edgesRate();
      assert.ok(edge, "the edge is still on the graph");
      const rate = edge.rate;
      console.log(`      graph: ${client} → ${server} at ${rate} rps, mTLS; weft edges just before and after: ${before}, ${after} rps`);
      assert.ok(rate >= Math.min(before, after) * 0.95 && rate <= Math.max(before, after) * 1.05, `the graph's ${rate} rps against weft edges' ${before} and ${after}`);
      const label = (await page.evaluate(`window.weftGraph.cy.getElementById(${JSON.stringify(`${client}->${server}`)}).data("label")`)) as string;
      assert.equal(label, `${rate.toFixed(1)}rps`, "the edge on the canvas carries the same rate");
      await page.screenshot({ path: join(artifactsDir(), "graph-node.png") });
      assert.deepEqual(errors, []);
    });

    it("the server's page shows figures that agree with weft stat -o json, and charts of them", async function () {
      this.timeout(120_000);
      const stat = async (): Promise<NonNullable<StatReport["rows"][number]>> => {
        const r = await weft(["stat", "deploy/server", "-n", ns, "--window", WINDOW, "-o", "json", "--kubeconfig", kubeconfig]);
        assert.equal(r.code, 0, r.stderr);
        const row = (JSON.parse(r.stdout) as StatReport).rows.find((x) => x.name === "deploy/server");
        assert.ok(row, r.stdout);
        return row;
      };
      // The page is read between two runs of weft stat -o json: its figures lie between theirs.
      const first = await stat();
      await page.goto(`${url}#/workload/${ns}/deploy/server?range=900`);
      await page.reload();
      await page.waitForSelector("[data-testid=pods] tbody tr");
      const value = async (id: string): Promise<number | null> => {
        const v = await page.$eval(`[data-testid=${id}]`, (el) => el.getAttribute("data-value") ?? "");
        return v === "" ? null : Number(v);
      };
      const shown = { rps: await value("stat-rps"), success: await value("stat-success"), p50: await value("stat-p50"), tls: await value("stat-tls"), meshed: await value("stat-meshed") };
      const second = await stat();
      const row = second;
      console.log(`      page: ${JSON.stringify(shown)}; weft stat before: ${JSON.stringify(first)}; after: ${JSON.stringify(second)}`);
      const between = (v: number | null, a: number | null, b: number | null, slack: number, what: string): void => {
        assert.ok(v !== null && a !== null && b !== null, `${what}: ${String(v)} against ${String(a)}, ${String(b)}`);
        assert.ok(v >= Math.min(a, b) - slack && v <= Math.max(a, b) + slack, `${what}: ${v} not between ${a} and ${b} (±${slack})`);
      };
      assert.ok(shown.rps !== null && shown.rps > 0);
      between(shown.rps, first.rps, second.rps, 0.05 * Math.max(first.rps, second.rps), "requests per second");
      between(shown.success, first.successRate, second.successRate, 0.005, "success rate");
      between(shown.tls, first.tlsShare, second.tlsShare, 0, "mTLS share");
      between(shown.meshed, first.meshedPods, second.meshedPods, 0, "meshed pods");
      // Latency quantiles move with every request the window gains or loses: the same order of magnitude is what holds.
      between(shown.p50, first.latencyMs.p50, second.latencyMs.p50, Math.max(2, (second.latencyMs.p50 ?? 0) * 0.5), "p50 latency (ms)");
      // The rps chart's newest point is the same query at its step: it agrees with the figure too.
      const lastPoint = (await page.evaluate(`fetch("/api/stat/${ns}/deploy/server?range=900").then((r) => r.json()).then((s) => s.series.rps.filter((v) => v !== null).pop())`)) as number;
      near(lastPoint, row.rps, 0.2, "the chart's newest point");
      assert.equal(await page.$$eval(".chart canvas", (c) => c.length), 3, "three charts drawn");
      assert.match(await page.$eval("[data-testid=pods]", (t) => t.textContent ?? ""), /server-.*SYNCED/);
      await page.screenshot({ path: join(artifactsDir(), "workload-node.png") });
      assert.deepEqual(errors, []);
    });

    it("the tap view shows a request the test sent", async function () {
      this.timeout(120_000);
      await page.goto(`${url}#/tap?resource=deploy/server&namespace=${ns}`);
      await waitFor("live requests in the tap view", async () => {
        const status = await page.$eval("[data-testid=tap-status]", (s) => s.textContent ?? "");
        if (status.startsWith("failed")) throw new StopWaiting(status);
        return (await page.$$("[data-testid=tap-rows] tr")).length > 0;
      }, { timeoutMs: 60_000, intervalMs: 200 });
      const path = `/dashboard-e2e-${randomBytes(4).toString("hex")}`;
      const clientPod = (await getCluster().kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns, labelSelector: "app=client" })).items[0]?.metadata?.name ?? "";
      const sent = await getCluster().kubectl(["exec", "-n", ns, clientPod, "-c", "app", "--", "node", "-e",
        `fetch("http://${serverIP}:8080${path}", { signal: AbortSignal.timeout(5000) }).then((r) => console.log(r.status), (e) => console.log(String(e)))`]);
      assert.equal(sent.stdout.trim(), "200", sent.stdout + sent.stderr);
      await page.waitForFunction(`[...document.querySelectorAll("[data-testid=tap-rows] td")].some((td) => td.textContent === ${JSON.stringify(path)})`, { timeout: 10_000 });
      console.log(`      ${path} shown in the tap view`);
      assert.deepEqual(errors, []);
      if (cli) assert.equal(cli.child.exitCode, null, `weft dashboard still forwarding: ${cli.output()}`);
    });
  });
}
