// `weft run` in network-namespace mode against `weft local --mode netns`: an
// unmodified curl in one workload's namespace reaches an echo server in
// another's by its ClusterIP, through both sidecars and real capture.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { skipWithoutNetns } from "../netns/lab.ts";
import type { TestProcess } from "../support/process.ts";
import { NETNS_STARTUP, ROOT, STOP_GRACE_MS, alive, netnsNames, removeNamespacesOf, rootCaptureChains, rootLinks, rootLinksAddedSince, startCli } from "./netns-harness.ts";

const ECHO = join(ROOT, "test/fixtures/apps/http-echo.ts");

describe("weft run in network-namespace mode against weft local", function () {
  this.timeout(300_000);
  let dir = "";
  const children: TestProcess[] = [];
  // Taken when the suite starts, not when mocha loads the file: suites that run
  // in between (a test cluster's pods) add and remove links of their own.
  let linksBefore: string[] = [];
  let chainsBefore = 0;

  before(function () {
    skipWithoutNetns(this, { sweep: false });
    linksBefore = rootLinks();
    chainsBefore = rootCaptureChains();
    dir = mkdtempSync(join(tmpdir(), "weft-run-netns-"));
  });
  after(async () => {
    for (const c of [...children].reverse()) await c.stop(STOP_GRACE_MS);
    removeNamespacesOf(children.map((c) => c.pid ?? -1));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") for (const c of children) console.error(`--- ${c.name} (${c.state})\n${c.stdout}\n${c.stderr}`);
  });

  it("carries curl's request to the echo over mTLS by ClusterIP; the echo sees curl's SPIFFE id; stopping leaves nothing", async () => {
    writeFileSync(join(dir, "registry.yaml"), [
      "services:",
      "  - namespace: shop",
      "    name: echo",
      "    clusterIps: [10.96.0.20]",
      "    ports: [{ name: http, port: 80, appProtocol: http }]",
      "    endpoints:",
      "      - { address: 10.203.0.20, ports: { http: 8080 }, meshed: true, serviceAccount: echo }",
      "",
    ].join("\n"));
    const local = startCli("local", ["local", "--mode", "netns", "--state-dir", dir, "--identity-port", "0", "--discovery-port", "0", "--admin-port", "0"]);
    children.push(local);
    await local.waitForOutput(/local mode\) up/, NETNS_STARTUP);
    assert.match(local.stdout, /^network-namespace mode \(--mode netns\): the control plane runs in namespace weft-\d+-hub/m);

    const echo = startCli("echo", ["run", "--name", "echo", "--namespace", "shop", "--state-dir", dir, "--", process.execPath, ECHO, "--port", "8080"]);
    children.push(echo);
    await echo.waitForOutput(/sidecar ready/, NETNS_STARTUP);
    assert.match(echo.stdout, /^network-namespace mode \(weft local runs in network-namespace mode\): spiffe:\/\/cluster\.local\/ns\/shop\/sa\/echo$/m);
    assert.match(echo.stdout, /^namespace weft-\d+-echo at 10\.203\.0\.20 /m);
    assert.match(echo.stdout, /^inbound: 10\.203\.0\.20:8080 \(mTLS, captured\)/m);

    // The client is curl itself, unmodified: no proxy settings, just the Service's ClusterIP.
    const web = startCli("web", ["run", "--name", "web", "--namespace", "shop", "--state-dir", dir, "--",
      "curl", "-sS", "--max-time", "10", "--retry", "20", "--retry-delay", "1", "--retry-all-errors", "http://10.96.0.20/hello"]);
    children.push(web);
    const code = await web.exited;
    assert.equal(code, 0, `${web.stdout}\n${web.stderr}`);
    assert.match(web.stdout, /^reach shop\/echo \(http\) at 10\.96\.0\.20:80$/m);
    const body = JSON.parse(web.stdout.trim().split("\n").at(-1)!) as { url: string; headers: Record<string, string> };
    assert.equal(body.url, "/hello");
    assert.equal(body.headers["weft-client-id"], "spiffe://cluster.local/ns/shop/sa/web");
    const webNs = /^namespace (weft-\d+-web) /m.exec(web.stdout)![1]!;
    assert.ok(!netnsNames().includes(webNs), "web's namespace is removed when its command exits");

    assert.equal(await echo.stop(STOP_GRACE_MS), 0, echo.stderr);
    assert.equal(await local.stop(STOP_GRACE_MS), 0, local.stderr);
    const pids = children.map((c) => c.pid!);
    assert.deepEqual(netnsNames().filter((n) => pids.some((p) => n.startsWith(`weft-${p}-`))), [], "no namespaces left");
    assert.deepEqual(rootLinksAddedSince(linksBefore), [], "no links added to the root namespace");
    assert.ok(rootCaptureChains() <= chainsBefore, "no capture rules in the root namespace");
    for (const p of pids) assert.equal(alive(p), false);
  });
});
