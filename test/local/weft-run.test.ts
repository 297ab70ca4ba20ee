import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts } from "../support/ports.ts";
import { Processes } from "../support/process.ts";
import { waitFor } from "../support/wait.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "cli/src/main.ts");
const ECHO = join(ROOT, "test/fixtures/apps/http-echo.ts");

// Start-up on a loaded 2-core machine: generous, and spent only when something is wrong.
const STARTUP = { timeoutMs: 90_000, intervalMs: 250 };

describe("weft run against weft local (loopback mode)", function () {
  this.timeout(180_000);
  let dir: string;
  const processes = new Processes();
  const start = (name: string, args: string[]) => processes.node(name, [CLI, ...args]);
  before(() => (dir = mkdtempSync(join(tmpdir(), "weft-run-"))));
  after(async () => {
    await processes.stopAll(15_000);
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") console.error(processes.report());
  });

  it("explains that weft local must run first", async () => {
    const c = start("early", ["run", "--name", "web", "--app-port", "8080", "--state-dir", dir, "--", "true"]);
    assert.equal(await c.exited, 2);
    assert.match(c.output, /^weft run: no local control plane is running .* start `weft local/m);
  });

  it("runs two workloads; the caller reaches the echo through its sidecar over mTLS", async () => {
    const [echoApp, echoIn, echoAdmin, webAdmin] = (await freePorts(4)) as [number, number, number, number];
    writeFileSync(join(dir, "registry.yaml"), [
      "services:",
      "  - namespace: shop",
      "    name: echo",
      "    clusterIps: [10.96.0.20]",
      "    ports: [{ name: http, port: 80, appProtocol: http }]",
      "    endpoints:",
      `      - { address: 127.0.0.1, ports: { http: ${echoIn} }, meshed: true, serviceAccount: echo }`,
      "",
    ].join("\n"));
    const local = start("local", ["local", "--mode", "loopback", "--state-dir", dir, "--identity-port", "0", "--discovery-port", "0", "--admin-port", "0"]);
    await waitFor("weft local to be up and to have written its run file", () => local.output.includes("local mode) up") && existsSync(join(dir, "run", "control-plane.json")), STARTUP);
    start("echo", ["run", "--name", "echo", "--namespace", "shop", "--app-port", String(echoApp), "--admin-port", String(echoAdmin), "--state-dir", dir, "--", process.execPath, ECHO, "--port", String(echoApp)]);
    const web = start("web", ["run", "--name", "web", "--namespace", "shop", "--app-port", "1", "--admin-port", String(webAdmin), "--state-dir", dir, "--", process.execPath, "-e", "setInterval(() => {}, 1000)"]);
    const out = (await web.waitForOutput(/reach shop\/echo \(http\) at 127\.0\.0\.1:(\d+)/, STARTUP))[1];
    assert.match(web.output, /^loopback mode \(/m);
    for (const admin of [echoAdmin, webAdmin]) await waitFor(`the sidecar with admin port ${admin} to answer /ready with 200`, async () => (await fetch(`http://127.0.0.1:${admin}/ready`)).status === 200, STARTUP);
    const body = await waitFor("a request through web's sidecar to reach the echo", async () => {
      const res = await fetch(`http://127.0.0.1:${out}/hello`);
      return res.status === 200 && ((await res.json()) as { headers: Record<string, string> });
    }, STARTUP);
    assert.equal(body.headers["weft-client-id"], "spiffe://cluster.local/ns/shop/sa/web");
    assert.ok(JSON.parse(readFileSync(join(dir, "run", "control-plane.json"), "utf8")).discoveryPort > 0);

    // Adding a workload to the registry reaches the running sidecars through discovery.
    const registry = readFileSync(join(dir, "registry.yaml"), "utf8");
    writeFileSync(join(dir, "registry.yaml"), `${registry}      - { address: 127.0.0.1, ports: { http: 1 }, meshed: true, serviceAccount: echo, pod: shop/echo-2 }\n`);
    await waitFor("the new endpoint in web's sidecar", async () => {
      const config = (await (await fetch(`http://127.0.0.1:${webAdmin}/config`)).json()) as { snapshot: { services: { name: string; endpoints: unknown[] }[] } };
      return config.snapshot.services.find((s) => s.name === "echo")?.endpoints.length === 2;
    }, { timeoutMs: 30_000, intervalMs: 250 });
  });
});
