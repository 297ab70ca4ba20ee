// The whole live rotation with the real control plane and two proxies as
// processes (local mode, loopback): anchor A; B added to the bundle; the issuer
// switched to one B signed; renew now; A removed. All of it with the CLI against
// the control plane's CA directory, while requests flow client → proxy A → mTLS
// → proxy B → app, and not one of them may fail. At the end both leaves chain
// to B only, and a peer holding a leaf from A's issuer is refused.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHttpEcho, type EchoApp } from "../fixtures/apps/http-echo.ts";
import { freePorts } from "../support/ports.ts";
import { Processes } from "../support/process.ts";
import { waitFor } from "../support/wait.ts";
import { CP, controlPlaneStarted, proxyReady, PROXY, TD } from "../control-plane/local-process-harness.ts";
import { assertRotated, fingerprintOf, rotateAnchor, SteadyLoad, waitForTrust, weft } from "./rotation-harness.ts";

describe("live trust-anchor and issuer rotation: control plane and two proxies as processes, the CLI on the CA files", function () {
  this.timeout(180_000);
  let dir: string;
  let app: EchoApp;
  const processes = new Processes();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "weft-rotation-"));
    app = await startHttpEcho(0, "127.0.0.1", "echo");
  });
  after(async () => {
    for (const p of processes.all) p.kill();
    app.server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") console.error(processes.report());
  });

  it("rotates anchor A to B under load with no failed request; then leaves chain to B only and an A-signed peer is refused", async () => {
    const ca = join(dir, "ca");
    weft(["identity", "init", "--dir", ca, "--local", "--trust-domain", TD]);
    const oldIssuer = join(dir, "issuer-a");
    cpSync(ca, oldIssuer, { recursive: true }); // the A-signed issuer, to mint a peer the mesh must refuse at the end
    const anchorA = fingerprintOf(join(ca, "ca.crt"));
    const token = (sa: string): string => {
      const file = join(dir, `${sa}.token`);
      writeFileSync(file, weft(["identity", "token", "--dir", ca, "--namespace", "demo", "--service-account", sa]).trim());
      return file;
    };
    const [bInbound, aOut, aAdmin, bAdmin] = (await freePorts(4)) as [number, number, number, number];
    const registry = join(dir, "registry.yaml");
    writeFileSync(registry, [
      `trustDomain: ${TD}`, "services:", "  - namespace: demo", "    name: echo", "    clusterIps: [10.96.0.10]",
      "    ports: [{ name: http, port: 80, appProtocol: http }]", "    endpoints:",
      `      - { address: 10.0.0.2, ports: { http: ${app.port} }, meshed: true, serviceAccount: echo }`, "",
    ].join("\n"));
    // 24 h leaves: nothing renews on its own during the test, so the new issuer's leaves come from "renew now".
    const cp = processes.node("control-plane", [CP, "--mode", "local", "--issuer-dir", ca, "--registry", registry, "--trust-domain", TD, "--host", "127.0.0.1",
      "--identity-port", "0", "--discovery-port", "0", "--admin-port", "0", "--drain", "2s", "--ca-poll", "1s"]);
    const started = await controlPlaneStarted(cp);
    const common = (sa: string, admin: number): string[] => [
      PROXY, "--control-plane", `127.0.0.1:${started.identityPort}`, "--identity-token-file", token(sa), "--trust-anchors", join(ca, "ca.crt"),
      "--trust-domain", TD, "--listen-host", "127.0.0.1", "--inbound-port", "0", "--outbound-port", "0", "--admin-port", String(admin), "--log-level", "info",
    ];
    const env = (sa: string): Record<string, string> => ({ WEFT_POD_NAMESPACE: "demo", WEFT_SERVICE_ACCOUNT: sa, WEFT_DISCOVERY_ADDRESS: `127.0.0.1:${started.discoveryPort}` });
    const proxyB = processes.node("proxy-b", [...common("echo", bAdmin), "--inbound-app", `${bInbound}=${app.port}`], { env: env("echo") });
    const proxyA = processes.node("proxy-a", [...common("client", aAdmin), "--outbound-bind", `${aOut}=10.96.0.10:80`, "--endpoint-dial", `10.0.0.2:${app.port}=127.0.0.1:${bInbound}`], { env: env("client") });
    await proxyReady(proxyA, aAdmin);
    await proxyReady(proxyB, bAdmin);
    const admins = [aAdmin, bAdmin];
    await waitForTrust("both proxies to trust A and hold A-issued leaves", admins, (t) => t.anchors.length === 1 && t.anchors[0] === anchorA && t.issuer !== undefined);

    const load = new SteadyLoad(`http://127.0.0.1:${aOut}/rotation`);
    load.start();
    await waitFor("the load to flow", () => load.ok >= 50, { timeoutMs: 30_000 });
    const before = performance.now();
    await waitFor("a baseline of 200 requests for p99", () => load.count(before, Infinity) >= 200, { timeoutMs: 30_000 });
    const times = await rotateAnchor({ target: ["--dir", ca], workDir: dir, trustDomain: TD, proxyAdmins: admins, controlPlaneAdmin: started.adminPort, anchorA });
    await waitFor("more load after the rotation", () => load.count(times.end, Infinity) >= 50, { timeoutMs: 30_000 });
    await load.stop();
    const summary = await assertRotated({ load, times, before, proxyAdmins: admins, anchorAPem: readFileSync(join(oldIssuer, "ca.crt"), "utf8"), oldIssuerDir: oldIssuer, inboundPort: bInbound, peer: { trustDomain: TD, namespace: "demo", serviceAccount: "client" } });
    console.log(`      rotation: ${summary}`);
    for (const p of [proxyA, proxyB, cp]) assert.equal(await p.stop(30_000), 0, `${p.name} exits 0 on SIGTERM`);
  });
});
