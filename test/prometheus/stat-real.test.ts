// `weft stat`, `weft edges` and `weft top` against a real Prometheus (the binary
// test/prometheus/build.sh builds from the Go module proxy) scraping real proxies that
// carry real traffic: a client proxy and two server proxies (two "versions" of one
// Service, real mTLS on loopback) whose apps fail a known share of requests. The CLI runs
// as a child process with --prometheus-url, and what it prints must agree with what the
// test sent within 5 %.
//
// WEFT_RECORD_CLI_GOLDEN=1 also records Prometheus's answers to the commands' queries as
// the golden inputs test/cli/golden/{stat,edges,top}/local-mesh.input.json.
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { edgeQueries, statQueries, topQueries, type Target } from "../../cli/src/prom-queries.ts";
import type { EdgesReport, StatReport, TopReport } from "../../cli/src/prom-rows.ts";
import { urlQuerier } from "../../cli/src/prom-access.ts";
import { freePort } from "../support/ports.ts";
import { Processes } from "../support/process.ts";
import { waitFor } from "../support/wait.ts";
import { startMesh, type Mesh } from "../sidecar/mesh-harness.ts";
import { prometheusBinary, prometheusBuilt } from "./paths.ts";

const MAIN = fileURLToPath(new URL("../../cli/src/main.ts", import.meta.url));
const GOLDEN = fileURLToPath(new URL("../cli/golden/", import.meta.url));
const RATE = 40; // requests per second the client sends
const WINDOW_S = 15;

/** An app that fails every `failEvery`-th request it receives with a 500. */
async function startApp(failEvery: number): Promise<{ server: http.Server; port: number; ok: number; failed: number; answers: { t: number; fail: boolean }[] }> {
  const app = { server: http.createServer(), port: 0, ok: 0, failed: 0, answers: [] as { t: number; fail: boolean }[] };
  let n = 0;
  app.server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    n += 1;
    const fail = n % failEvery === 0;
    if (fail) app.failed += 1;
    else app.ok += 1;
    app.answers.push({ t: Date.now(), fail });
    res.writeHead(fail ? 500 : 200, { "content-type": "text/plain" });
    res.end(fail ? "no\n" : "ok\n");
  });
  await new Promise<void>((r) => app.server.listen(0, "127.0.0.1", r));
  app.port = (app.server.address() as AddressInfo).port;
  return app;
}

function post(port: number): Promise<number> {
  return new Promise((resolve) => {
    // POST: a 500 is not retried, so the client sees exactly what the servers answered.
    const req = http.request({ host: "127.0.0.1", port, path: "/work", method: "POST", agent: keepAlive }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(0));
    req.end("x");
  });
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 8 });

describe("weft stat/edges/top against a real Prometheus scraping real proxies", function () {
  this.timeout(180_000);
  const processes = new Processes();
  let dir = "";
  let mesh: Mesh | undefined;
  let apps: Awaited<ReturnType<typeof startApp>>[] = [];
  let promUrl = "";
  let sending = false;
  let sent = 0;
  let sender: Promise<void> | undefined;

  before(async function () {
    if (!prometheusBuilt()) {
      console.log("    (skipped: Prometheus is not built; run bash test/prometheus/build.sh)");
      this.skip();
    }
    apps = [await startApp(10), await startApp(4)]; // v1 fails 10 %, v2 25 %
    mesh = await startMesh({ backends: apps.map((a) => ({ appPort: a.port })), serverAdmin: true, peerTransport: "h2" });
    const target = (port: number | undefined, pod: string, workload: string): string =>
      `  - targets: ["127.0.0.1:${port ?? 0}"]\n    labels: { namespace: default, pod: ${pod}, workload: "${workload}" }\n`;
    dir = mkdtempSync(join(tmpdir(), "weft-prometheus-"));
    // The labels the chart's relabeling gives (charts/weft/templates/prometheus.yaml), as static targets.
    const config =
      "global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: weft-proxies\n  static_configs:\n" +
      target(mesh.client.ports.get("admin"), "client-7d9f-abcde", "deploy/client") +
      target(mesh.servers[0]?.ports.get("admin"), "server-v1-6c8b-fghij", "deploy/server-v1") +
      target(mesh.servers[1]?.ports.get("admin"), "server-v2-5b7d-klmno", "deploy/server-v2");
    writeFileSync(join(dir, "prometheus.yml"), config);
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const prom = processes.start("prometheus", prometheusBinary(), [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`]);
    await waitFor("Prometheus to scrape all three proxies", async () => {
      if (prom.state !== "running") throw new Error(`prometheus exited:\n${prom.tail(4000)}`);
      try {
        const up = await urlQuerier(promUrl).query('sum(up{job="weft-proxies"})');
        return Number(up[0]?.value[1] ?? 0) === 3;
      } catch {
        return false;
      }
    }, { timeoutMs: 60_000 });
    // Steady traffic at RATE: each request is due at start + i/RATE; a late loop catches up.
    sending = true;
    const started = Date.now();
    sender = (async () => {
      const inFlight = new Set<Promise<number>>();
      while (sending) {
        const due = started + (sent * 1000) / RATE;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const p = post(mesh?.port ?? 0);
        sent += 1;
        inFlight.add(p);
        void p.then(() => inFlight.delete(p));
      }
      await Promise.all(inFlight);
    })();
    // Past the window (plus scrapes), the rates are steady.
    await new Promise((r) => setTimeout(r, (WINDOW_S + 5) * 1000));
  });

  after(async function () {
    sending = false;
    await sender;
    keepAlive.destroy();
    if (this.currentTest?.state === "failed") console.log(processes.report(8000));
    await processes.stopAll();
    await mesh?.stop();
    for (const a of apps) a.server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function weft<T>(args: string[]): Promise<T> {
    const p = processes.node(`weft ${args[0] ?? ""}`, [MAIN, ...args, "--prometheus-url", promUrl, "--window", `${WINDOW_S}s`, "-o", "json"]);
    const code = await p.exited;
    assert.equal(code, 0, `weft ${args.join(" ")} failed:\n${p.output}`);
    return JSON.parse(p.stdout) as T;
  }

  const within = (actual: number, expected: number, what: string): void => {
    assert.ok(Math.abs(actual - expected) <= 0.05 * expected, `${what}: ${actual}, expected ${expected} within 5 %`);
  };
  /** What the apps answered over the window ending at `at` (the sender is steady at RATE unless the machine stalls it). */
  const answeredIn = (at: number): { t: number; fail: boolean }[] => apps.flatMap((a) => a.answers).filter((a) => a.t > at - WINDOW_S * 1000 && a.t <= at);
  const sentRate = (at: number): number => answeredIn(at).length / WINDOW_S;

  it("weft stat deploy: per server version, success rate and rps as sent; all of it mTLS", async () => {
    const at = Date.now();
    const report = await weft<StatReport>(["stat", "deploy", "-n", "default", "--no-pods"]);
    const byName = new Map(report.rows.map((r) => [r.name, r]));
    const v1 = byName.get("deploy/server-v1");
    const v2 = byName.get("deploy/server-v2");
    assert.ok(v1 && v2, `rows: ${JSON.stringify(report.rows)}`);
    // What the test sent, at a steady RATE; the server side saw all of it, split between versions.
    within(v1.rps + v2.rps, sentRate(at), "requests per second across both versions");
    // Each version's success rate is what its app answered over the window (the balancer decides
    // how many requests each gets; v1's app fails every 10th, v2's every 4th).
    for (const [row, app] of [[v1, apps[0]], [v2, apps[1]]] as const) {
      const answered = app?.answers.filter((a) => a.t > at - WINDOW_S * 1000 && a.t <= at) ?? [];
      if (answered.length < 40) continue; // too few for a share to be compared within 5 %
      within(row.successRate ?? 0, answered.filter((a) => !a.fail).length / answered.length, `${row.name} success rate`);
    }
    const answered = answeredIn(at);
    within((v1.rps * (v1.successRate ?? 0) + v2.rps * (v2.successRate ?? 0)) / (v1.rps + v2.rps), answered.filter((a) => !a.fail).length / answered.length, "success rate across both versions");
    assert.equal(v1.tlsShare, 1);
    assert.equal(v2.tlsShare, 1);
    assert.equal(v1.meshedPods, 1);
    for (const r of [v1, v2]) assert.ok(r.latencyMs.p50 !== null && r.latencyMs.p99 !== null && r.latencyMs.p50 <= r.latencyMs.p99, JSON.stringify(r.latencyMs));
    // The client received nothing: no inbound traffic row for it beyond its meshed count.
    assert.equal(byName.get("deploy/client")?.rps ?? 0, 0);
  });

  it("weft stat svc/echo: what the callers sent to the Service, success as the apps answered", async () => {
    const at = Date.now();
    const report = await weft<StatReport>(["stat", "svc/echo", "-n", "default"]);
    const row = report.rows.find((r) => r.name === "svc/echo");
    assert.ok(row, JSON.stringify(report.rows));
    within(row.rps, sentRate(at), "requests per second to svc/echo");
    const answered = answeredIn(at);
    within(row.successRate ?? 0, answered.filter((a) => !a.fail).length / answered.length, "svc/echo success rate (as the apps answered over the window)");
    assert.equal(row.tlsShare, 1);
    // --from narrows to one caller identity: all of it came from the client's ServiceAccount.
    const fromClient = await weft<StatReport>(["stat", "deploy/server-v1", "-n", "default", "--from", "sa/client", "--no-pods"]);
    assert.ok((fromClient.rows[0]?.rps ?? 0) > 0, JSON.stringify(fromClient.rows));
    const fromOther = await weft<StatReport>(["stat", "deploy/server-v1", "-n", "default", "--from", "sa/intruder", "--no-pods"]);
    assert.equal(fromOther.rows.filter((r) => r.rps > 0).length, 0);
  });

  it("weft edges: client -> each server version, both SPIFFE ids, mTLS", async () => {
    const at = Date.now();
    const report = await weft<EdgesReport>(["edges", "deploy/client", "-n", "default"]);
    const dsts = report.rows.map((r) => r.dst).sort();
    assert.deepEqual(dsts, ["default/deploy/server-v1", "default/deploy/server-v2"], JSON.stringify(report.rows));
    for (const r of report.rows) {
      assert.equal(r.src, "default/deploy/client");
      assert.equal(r.srcIdentity, "spiffe://cluster.local/ns/default/sa/client");
      assert.equal(r.dstIdentity, "spiffe://cluster.local/ns/default/sa/server");
      assert.equal(r.mtls, true);
    }
    within(report.rows.reduce((a, r) => a + r.rps, 0), sentRate(at), "requests per second over the client's edges");
  });

  it("weft top: the busiest traffic, the client's outbound to the Service first", async () => {
    const at = Date.now();
    const report = await weft<TopReport>(["top", "ns/default", "--by", "route", "--once"]);
    const first = report.rows[0];
    assert.ok(first, "rows");
    assert.equal(first.workload, "deploy/client");
    assert.equal(first.direction, "outbound");
    assert.equal(first.service, "default/echo");
    within(first.rps, sentRate(at), "the client's outbound rate");
  });

  it("records the golden inputs when asked (WEFT_RECORD_CLI_GOLDEN=1)", async function () {
    if (process.env.WEFT_RECORD_CLI_GOLDEN !== "1") this.skip();
    const prom = urlQuerier(promUrl);
    const window = `${WINDOW_S}s`;
    const time = Date.now() / 1000; // one evaluation time, as the CLI queries
    const run = async (queries: Record<string, string>): Promise<Record<string, unknown>> =>
      Object.fromEntries(await Promise.all(Object.entries(queries).map(async ([k, q]) => [k, await prom.query(q, time)] as const)));
    const deploy: Target = { kind: "deployment", namespace: "default" };
    const pods = [
      { namespace: "default", pod: "client-7d9f-abcde", workload: "deploy/client" },
      { namespace: "default", pod: "server-v1-6c8b-fghij", workload: "deploy/server-v1" },
      { namespace: "default", pod: "server-v2-5b7d-klmno", workload: "deploy/server-v2" },
      { namespace: "default", pod: "server-v2-5b7d-pqrst", workload: "deploy/server-v2" },
    ];
    const write = (command: string, input: unknown): void => writeFileSync(join(GOLDEN, command, "local-mesh.input.json"), JSON.stringify(input, null, 2) + "\n");
    write("stat", { target: deploy, window, answers: await run(statQueries(deploy, window)), pods });
    write("edges", { target: deploy, window, trustDomain: "cluster.local", answers: await run(edgeQueries(window)) });
    write("top", { target: { kind: "namespace", name: "default", namespace: "default" }, window, limit: 10, answers: await run(topQueries({ kind: "namespace", name: "default", namespace: "default" }, window, 10)) });
  });
});
