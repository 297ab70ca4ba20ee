// The dashboard in real headless browsers (Debian's chromium and firefox-esr through
// puppeteer-core) against its real server, built assets and synthetic data: what a
// user sees on each page, without JavaScript errors, at 1280×800 and in dark mode,
// and how fast a 200-workload, 1,000-edge mesh draws and answers a click.
import * as assert from "node:assert/strict";
import type * as http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "puppeteer-core";
import { buildWeb } from "../../dashboard/build-web.ts";
import { startDashboardServer } from "../../dashboard/src/server.ts";
import { silentLogger } from "../../lib/log.ts";
import type { TapEvent } from "../../lib/tap-contract.ts";
import { waitFor } from "../support/wait.ts";
import { artifactsDir, browserPath, clickNode, graphRendered, launch, openPage } from "./browser.ts";
import { syntheticMesh, type SyntheticMesh } from "./synthetic-data.ts";

const JAEGER = "http://jaeger.example.test:16686";

async function serve(mesh: SyntheticMesh, assetsDir: string): Promise<{ server: http.Server; url: string }> {
  const server = await startDashboardServer({ data: mesh.data, assetsDir, config: { window: "1m", jaegerUrl: JAEGER }, logger: silentLogger(), host: "127.0.0.1", port: 0 });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the server has no TCP address");
  return { server, url: `http://127.0.0.1:${address.port}` };
}

function tapEvent(path: string): TapEvent {
  return {
    ts: Date.now(), direction: "inbound", source: "spiffe://cluster.local/ns/team-0/sa/client", destination: "spiffe://cluster.local/ns/team-0/sa/server",
    method: "GET", authority: "server.team-0:8080", path, grpc: false, status: 200, latencyMs: 3, tls: true, pod: "team-0/server-7d9f-0",
    headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
  };
}

describe("the dashboard in a browser (synthetic mesh)", function () {
  this.timeout(120_000);
  let assetsDir: string;
  before(async function () {
    if (!browserPath("chromium")) this.skip();
    assetsDir = mkdtempSync(join(tmpdir(), "weft-dashboard-web-"));
    await buildWeb(assetsDir);
  });
  after(() => {
    if (assetsDir) rmSync(assetsDir, { recursive: true, force: true });
  });

  describe("in chromium", function () {
    let browser: Browser;
    const small = syntheticMesh({ workloads: 8, edges: 12, namespaces: 2 });
    let smallUrl: string;
    let smallServer: http.Server;
    before(async function () {
      browser = await launch("chromium");
      ({ server: smallServer, url: smallUrl } = await serve(small, assetsDir));
    });
    after(async () => {
      await browser?.close();
      smallServer?.close();
    });

    it("the graph shows the client→server edge with its rate and success, and no console errors", async function () {
      const { page, errors } = await openPage(browser);
      await page.goto(`${smallUrl}/#/graph`);
      await graphRendered(page);
      const rows = (await page.$$eval("[data-testid=edge-table] tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)))) as string[][];
      const edge = rows.find((r) => r[0] === "team-0/deploy/client" && r[1] === "team-1/deploy/server");
      assert.deepEqual(edge, ["team-0/deploy/client", "team-1/deploy/server", "12.5rps", "98.00%", "yes"]);
      const label = (await page.evaluate(`window.weftGraph.cy.getElementById("team-0/deploy/client->team-1/deploy/server").data("label")`)) as string;
      assert.equal(label, "12.5rps");
      await page.screenshot({ path: join(artifactsDir(), "graph-synthetic.png") });
      assert.deepEqual(errors, []);
      await page.close();
    });

    it("a click on a workload selects it and links to its page, whose figures are the stat row's", async function () {
      const { page, errors } = await openPage(browser);
      await page.goto(`${smallUrl}/#/graph`);
      await graphRendered(page);
      await clickNode(page, "team-1/deploy/server");
      await Promise.all([page.waitForSelector("[data-testid=workload-title]"), page.click("[data-testid=open-workload]")]);
      const want = small.statOf("team-1", "deploy/server");
      const value = async (id: string): Promise<string> => page.$eval(`[data-testid=${id}]`, (el) => el.getAttribute("data-value") ?? "");
      assert.equal(Number(await value("stat-rps")), want.rps);
      assert.equal(Number(await value("stat-success")), want.successRate);
      assert.equal(Number(await value("stat-p95")), want.latencyMs.p95);
      assert.equal(Number(await value("stat-p99")), want.latencyMs.p99);
      assert.equal(await page.$$eval(".chart canvas", (c) => c.length), 3, "three charts drawn");
      await page.waitForSelector("[data-testid=pods] tbody tr");
      assert.match(await page.$eval("[data-testid=pods]", (t) => t.textContent ?? ""), /server-7d9f-0.*SYNCED/);
      assert.deepEqual(errors, []);
      await page.close();
    });

    it("the tap view shows requests as they happen, linked to their trace in Jaeger", async function () {
      const { page, errors } = await openPage(browser);
      await page.goto(`${smallUrl}/#/tap?resource=deploy/server&namespace=team-1`);
      await waitFor("the page's tap to connect", () => small.openTaps() === 1);
      small.emit(tapEvent("/hello/from-the-test"));
      await page.waitForSelector("[data-testid=tap-rows] tr");
      const link = await page.$eval("[data-testid=tap-rows] tr a", (a) => [a.textContent, a.getAttribute("href")]);
      assert.deepEqual(link, ["/hello/from-the-test", `${JAEGER}/trace/4bf92f3577b34da6a3ce929d0e0e4736`]);
      await page.goto(`${smallUrl}/#/graph`);
      await waitFor("leaving the page to close its tap", () => small.openTaps() === 0);
      assert.deepEqual(errors, []);
      await page.close();
    });

    it("the health page lists weft check's results, failures marked", async function () {
      const { page, errors } = await openPage(browser);
      await page.goto(`${smallUrl}/#/health`);
      await page.waitForSelector("[data-testid=checks] li");
      assert.equal(await page.$eval("[data-testid=health-summary]", (p) => p.textContent), "1 of 3 checks failed");
      assert.equal(await page.$$eval("[data-testid=checks] li.failed", (l) => l.length), 1);
      assert.deepEqual(errors, []);
      await page.close();
    });

    it("is usable at 1280×800 and readable in dark mode (no sideways scroll, light text on a dark page)", async function () {
      const { page, errors } = await openPage(browser, { dark: true });
      await page.goto(`${smallUrl}/#/workload/team-1/deploy/server`);
      await page.waitForSelector("[data-testid=pods] tbody tr");
      const [scrollWidth, bg, fg] = (await page.evaluate(`[document.documentElement.scrollWidth, getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]`)) as [number, string, string];
      assert.ok(scrollWidth <= 1280, `page is ${scrollWidth}px wide`);
      const lum = (rgb: string): number => {
        const [r = 0, g = 0, b = 0] = (rgb.match(/\d+/g) ?? []).map(Number);
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      assert.ok(lum(bg) < 60 && lum(fg) > 180, `background ${bg}, text ${fg}`);
      await page.screenshot({ path: join(artifactsDir(), "workload-synthetic-dark.png") });
      assert.deepEqual(errors, []);
      await page.close();
    });

    it("a mesh with no traffic says so", async function () {
      const quiet = await serve(syntheticMesh({ workloads: 0, edges: 0 }), assetsDir);
      try {
        const { page, errors } = await openPage(browser);
        await page.goto(`${quiet.url}/#/graph`);
        await graphRendered(page);
        assert.equal(await page.$eval("[data-testid=graph] .empty", (p) => p.textContent), "No traffic in the last 1m.");
        assert.deepEqual(errors, []);
        await page.close();
      } finally {
        quiet.server.close();
      }
    });

    it("bad parameters get a 400 with the reason; the server keeps serving", async function () {
      for (const path of ["/api/graph?window=forever", "/api/stat/team-1/deploy/server?range=5", "/api/stat/Bad_NS/deploy/x", "/api/tap?resource=deploy/x", "/api/graph?ns=Nope!"]) {
        const res = await fetch(`${smallUrl}${path}`);
        assert.equal(res.status, 400, path);
        assert.ok(((await res.json()) as { error: string }).error.length > 0);
      }
      assert.equal((await fetch(`${smallUrl}/api/graph`)).status, 200);
    });
  });

  describe("with 200 workloads and 1,000 edges", function () {
    let browser: Browser;
    let server: http.Server;
    let url: string;
    const big = syntheticMesh({ workloads: 200, edges: 1000, namespaces: 10 });
    before(async function () {
      browser = await launch("chromium");
      ({ server, url } = await serve(big, assetsDir));
    });
    after(async () => {
      await browser?.close();
      server?.close();
    });

    it("the graph page renders in under 2 s and shows a clicked workload's selection in under 250 ms (median of 5)", async function () {
      const { page, errors } = await openPage(browser);
      // Warm the browser's caches for the assets once: the figure is the page's, not the disk's.
      await page.goto(`${url}/#/health`);
      await page.waitForSelector("[data-testid=checks]");
      const started = Date.now();
      await page.goto(`${url}/#/graph`);
      const layoutMs = await graphRendered(page, 10_000);
      const pageMs = Date.now() - started;
      assert.equal(big.edges.length, 1000);
      assert.equal(await page.evaluate("window.weftGraph.cy.nodes().length"), 200);
      assert.equal(await page.evaluate("window.weftGraph.cy.edges().length"), 1000);
      const clicks: { page: number; driver: number }[] = [];
      for (const id of ["team-0/deploy/svc-40", "team-3/deploy/svc-113", "team-9/deploy/svc-199", "team-5/deploy/svc-75", "team-1/deploy/server"]) clicks.push(await clickNode(page, id));
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Infinity;
      const inPage = clicks.map((c) => c.page);
      const driver = clicks.map((c) => c.driver);
      console.log(`      [dashboard] 200 workloads/1000 edges: page ${pageMs} ms (layout and draw ${Math.round(layoutMs)} ms); click to selection drawn ${inPage.join("/")} ms in the page (median ${median(inPage)}), ${driver.join("/")} ms through puppeteer (median ${median(driver)})`);
      assert.ok(pageMs < 2000, `the graph page took ${pageMs} ms`);
      // 250 ms: well inside what feels immediate on a loaded 2-core test machine (typically ~100 ms here).
      assert.ok(median(inPage) < 250, `clicks took ${inPage.join("/")} ms to show their selection`);
      await page.evaluate("window.weftGraph.cy.fit()");
      await page.screenshot({ path: join(artifactsDir(), "graph-200-workloads.png") });
      assert.deepEqual(errors, []);
      await page.close();
    });
  });

  describe("in firefox (WebDriver BiDi)", function () {
    let browser: Browser;
    let server: http.Server;
    let url: string;
    const mesh = syntheticMesh({ workloads: 8, edges: 12, namespaces: 2 });
    before(async function () {
      if (!browserPath("firefox")) this.skip();
      browser = await launch("firefox");
      ({ server, url } = await serve(mesh, assetsDir));
    });
    after(async () => {
      await browser?.close();
      server?.close();
    });

    it("the graph, a workload page and the tap view work without JavaScript errors", async function () {
      const { page, errors } = await openPage(browser);
      await page.goto(`${url}/#/graph`);
      await graphRendered(page);
      assert.equal(await page.evaluate("window.weftGraph.cy.edges().length"), 12);
      await page.goto(`${url}/#/workload/team-1/deploy/server`);
      await page.waitForSelector("[data-testid=pods] tbody tr");
      assert.equal(await page.$$eval(".chart canvas", (c) => c.length), 3);
      await page.goto(`${url}/#/tap?resource=deploy/server&namespace=team-1`);
      await waitFor("the page's tap to connect", () => mesh.openTaps() === 1);
      mesh.emit(tapEvent("/firefox"));
      await page.waitForSelector("[data-testid=tap-rows] tr");
      assert.deepEqual(errors, []);
      await page.close();
    });
  });
});
