// The live rotation in local mode as a user runs it: `weft local` (loopback),
// two workloads under `weft run`, and the `weft identity` steps on its state
// directory, while requests flow from one workload's sidecar to the other's.
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts } from "../support/ports.ts";
import { Processes } from "../support/process.ts";
import { waitFor } from "../support/wait.ts";
import { CLI } from "../control-plane/local-process-harness.ts";
import { assertRotated, fingerprintOf, rotateAnchor, SteadyLoad, waitForTrust } from "./rotation-harness.ts";

const ECHO = fileURLToPath(new URL("../fixtures/apps/http-echo.ts", import.meta.url));
const STARTUP = { timeoutMs: 90_000, intervalMs: 250 };

describe("live trust-anchor and issuer rotation in local mode (weft local, weft run, weft identity --state-dir)", function () {
  this.timeout(240_000);
  let dir: string;
  const processes = new Processes();
  const start = (name: string, args: string[]) => processes.node(name, [CLI, ...args]);
  before(() => (dir = mkdtempSync(join(tmpdir(), "weft-rotation-local-"))));
  after(async () => {
    await processes.stopAll(15_000);
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") console.error(processes.report());
  });

  it("rotates the anchor under load with no failed request; the workloads' sidecars end on B only", async () => {
    const [echoApp, echoIn, echoAdmin, webAdmin] = (await freePorts(4)) as [number, number, number, number];
    writeFileSync(join(dir, "registry.yaml"), [
      "services:", "  - namespace: shop", "    name: echo", "    clusterIps: [10.96.0.20]", "    ports: [{ name: http, port: 80, appProtocol: http }]", "    endpoints:",
      `      - { address: 127.0.0.1, ports: { http: ${echoIn} }, meshed: true, serviceAccount: echo }`, "",
    ].join("\n"));
    const local = start("local", ["local", "--mode", "loopback", "--state-dir", dir, "--identity-port", "0", "--discovery-port", "0", "--admin-port", "0"]);
    await waitFor("weft local to be up and to have written its run file", () => local.output.includes("local mode) up") && existsSync(join(dir, "run", "control-plane.json")), STARTUP);
    const runtime = JSON.parse(readFileSync(join(dir, "run", "control-plane.json"), "utf8")) as { adminPort: number };
    const ca = join(dir, "ca");
    const oldIssuer = join(dir, "issuer-a");
    cpSync(ca, oldIssuer, { recursive: true });
    const anchorA = fingerprintOf(join(ca, "ca.crt"));
    start("echo", ["run", "--name", "echo", "--namespace", "shop", "--app-port", String(echoApp), "--admin-port", String(echoAdmin), "--state-dir", dir, "--", process.execPath, ECHO, "--port", String(echoApp)]);
    const web = start("web", ["run", "--name", "web", "--namespace", "shop", "--app-port", "1", "--admin-port", String(webAdmin), "--state-dir", dir, "--", process.execPath, "-e", "setInterval(() => {}, 1000)"]);
    const out = (await web.waitForOutput(/reach shop\/echo \(http\) at 127\.0\.0\.1:(\d+)/, STARTUP))[1];
    const admins = [echoAdmin, webAdmin];
    for (const admin of admins) await waitFor(`the sidecar with admin port ${admin} to be ready`, async () => (await fetch(`http://127.0.0.1:${admin}/ready`)).status === 200, STARTUP);
    await waitForTrust("both sidecars to trust A", admins, (t) => t.anchors.length === 1 && t.anchors[0] === anchorA && t.issuer !== undefined);

    const load = new SteadyLoad(`http://127.0.0.1:${out}/rotation`);
    load.start();
    await waitFor("the load to flow", () => load.ok >= 50, { timeoutMs: 60_000 });
    const before = performance.now();
    await waitFor("a baseline of 200 requests for p99", () => load.count(before, Infinity) >= 200, { timeoutMs: 30_000 });
    const times = await rotateAnchor({ target: ["--state-dir", dir], workDir: dir, trustDomain: "cluster.local", proxyAdmins: admins, controlPlaneAdmin: runtime.adminPort, anchorA });
    await waitFor("more load after the rotation", () => load.count(times.end, Infinity) >= 50, { timeoutMs: 30_000 });
    await load.stop();
    const summary = await assertRotated({ load, times, before, proxyAdmins: admins, anchorAPem: readFileSync(join(oldIssuer, "ca.crt"), "utf8"), oldIssuerDir: oldIssuer, inboundPort: echoIn, peer: { trustDomain: "cluster.local", namespace: "shop", serviceAccount: "web" } });
    console.log(`      local-mode rotation: ${summary}`);
    assert.ok(runtime.adminPort > 0);
  });
});
