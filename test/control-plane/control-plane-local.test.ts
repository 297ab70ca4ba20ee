import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHttpEcho, type EchoApp } from "../fixtures/apps/http-echo.ts";
import { freePorts } from "../support/ports.ts";
import { Processes } from "../support/process.ts";
import { CLI, CP, controlPlaneStarted, proxyReady, PROXY, TD } from "./local-process-harness.ts";


describe("local mode: control plane (identity + discovery from the registry file) and two proxies in control-plane mode", function () {
  this.timeout(120_000);
  let dir: string;
  let app: EchoApp;
  const processes = new Processes();
  const start = (name: string, args: string[], env: Record<string, string> = {}) => processes.node(name, args, { env });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "weft-local-"));
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

  it("carries an HTTP request client → proxy A → mTLS → proxy B → app, which sees A's SPIFFE id", async () => {
    const ca = join(dir, "ca");
    const init = spawnSync(process.execPath, [CLI, "identity", "init", "--dir", ca, "--local", "--trust-domain", TD], { encoding: "utf8" });
    assert.equal(init.status, 0, init.stderr);
    const token = (sa: string): string => {
      const r = spawnSync(process.execPath, [CLI, "identity", "token", "--dir", ca, "--namespace", "demo", "--service-account", sa], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const file = join(dir, `${sa}.token`);
      writeFileSync(file, r.stdout.trim());
      return file;
    };
    const [bInbound, aOut, aAdmin, bAdmin] = (await freePorts(4)) as [number, number, number, number];
    const registry = join(dir, "registry.yaml");
    writeFileSync(registry, [
      `trustDomain: ${TD}`,
      "services:",
      "  - namespace: demo",
      "    name: echo",
      "    clusterIps: [10.96.0.10]",
      "    ports: [{ name: http, port: 80, appProtocol: http }]",
      "    endpoints:",
      `      - { address: 10.0.0.2, ports: { http: ${app.port} }, meshed: true, serviceAccount: echo }`,
      "",
    ].join("\n"));

    const cp = start("control-plane", [CP, "--mode", "local", "--issuer-dir", ca, "--registry", registry, "--trust-domain", TD, "--host", "127.0.0.1", "--identity-port", "0", "--discovery-port", "0", "--admin-port", "0", "--drain", "2s"]);
    const started = await controlPlaneStarted(cp);
    assert.ok(started.discoveryPort > 0);

    const common = (sa: string, admin: number): string[] => [
      PROXY, "--control-plane", `127.0.0.1:${started.identityPort}`, "--identity-token-file", token(sa), "--trust-anchors", join(ca, "ca.crt"),
      "--trust-domain", TD, "--listen-host", "127.0.0.1", "--inbound-port", "0", "--outbound-port", "0", "--admin-port", String(admin), "--log-level", "warn",
    ];
    const env = (sa: string): Record<string, string> => ({
      WEFT_POD_NAMESPACE: "demo", WEFT_SERVICE_ACCOUNT: sa, WEFT_DISCOVERY_ADDRESS: `127.0.0.1:${started.discoveryPort}`,
    });
    const proxyB = start("proxy-b", [...common("echo", bAdmin), "--inbound-app", `${bInbound}=${app.port}`], env("echo"));
    const proxyA = start("proxy-a", [...common("client", aAdmin), "--outbound-bind", `${aOut}=10.96.0.10:80`, "--endpoint-dial", `10.0.0.2:${app.port}=127.0.0.1:${bInbound}`], env("client"));

    await proxyReady(proxyA, aAdmin);
    await proxyReady(proxyB, bAdmin);
    const res = await fetch(`http://127.0.0.1:${aOut}/through-the-mesh`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { app: string; headers: Record<string, string> };
    assert.equal(body.app, "echo");
    assert.equal(body.headers["weft-client-id"], `spiffe://${TD}/ns/demo/sa/client`);

    const cpMetrics = await (await fetch(`http://127.0.0.1:${started.adminPort}/metrics`)).text();
    assert.match(cpMetrics, /^weft_discovery_streams 2$/m);
    assert.match(cpMetrics, /^weft_identity_certificates_issued_total 2$/m);

    for (const p of [proxyA, proxyB, cp]) assert.equal(await p.stop(30_000), 0, `${p.name} exits 0 on SIGTERM`);
  });
});

describe("control plane flags for discovery", () => {
  it("defaults the discovery port to 8087 and the registry to the issuer dir", async () => {
    const { parseControlPlaneFlags } = await import("../../control-plane/src/identity-config.ts");
    const { registryPathFor } = await import("../../control-plane/src/discovery-wiring.ts");
    const c = parseControlPlaneFlags(["--mode", "local", "--issuer-dir", "/state"]);
    assert.ok(c.ok);
    assert.equal(c.value.discoveryPort, 8087);
    assert.equal(registryPathFor(c.value), "/state/registry.yaml");
    const given = parseControlPlaneFlags(["--mode", "local", "--issuer-dir", "/state", "--registry", "/etc/mesh.yaml", "--discovery-port", "0"]);
    assert.ok(given.ok);
    assert.equal(given.value.discoveryPort, 0);
    assert.equal(registryPathFor(given.value), "/etc/mesh.yaml");
  });

  it("refuses a bad discovery port and --registry outside local mode", async () => {
    const { parseControlPlaneFlags } = await import("../../control-plane/src/identity-config.ts");
    const port = parseControlPlaneFlags(["--issuer-dir", "/s", "--discovery-port", "70000"]);
    assert.equal(port.ok ? "" : port.code, "bad-port");
    const reg = parseControlPlaneFlags(["--issuer-dir", "/s", "--registry", "r.yaml"]);
    assert.equal(reg.ok ? "" : reg.message, "--registry is for --mode local");
  });

  it("reads --default-inbound-policy (all-authenticated unless given, dry-run:<name> too) and refuses an unknown one", async () => {
    const { parseControlPlaneFlags } = await import("../../control-plane/src/identity-config.ts");
    const plain = parseControlPlaneFlags(["--issuer-dir", "/s"]);
    assert.deepEqual(plain.ok ? plain.value.defaultInboundPolicy : null, { name: "all-authenticated", dryRun: false });
    const dry = parseControlPlaneFlags(["--issuer-dir", "/s", "--default-inbound-policy", "dry-run:deny"]);
    assert.deepEqual(dry.ok ? dry.value.defaultInboundPolicy : null, { name: "deny", dryRun: true });
    const bad = parseControlPlaneFlags(["--issuer-dir", "/s", "--default-inbound-policy", "strict"]);
    assert.equal(bad.ok ? "" : bad.code, "bad-default-policy");
    assert.match(bad.ok ? "" : bad.message, /^--default-inbound-policy: "strict" is not a default inbound policy/);
  });

  it("refuses to start on a malformed registry file with its line number", function () {
    this.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), "weft-local-bad-"));
    try {
      const init = spawnSync(process.execPath, [CLI, "identity", "init", "--dir", dir, "--local"], { encoding: "utf8" });
      assert.equal(init.status, 0, init.stderr);
      writeFileSync(join(dir, "registry.yaml"), "services:\n  - namespace: demo\n    nmae: web\n");
      const r = spawnSync(process.execPath, [CP, "--mode", "local", "--issuer-dir", dir, "--host", "127.0.0.1", "--identity-port", "0", "--discovery-port", "0", "--admin-port", "0"], { encoding: "utf8", timeout: 50_000 });
      assert.equal(r.status, 1);
      assert.match(r.stdout + r.stderr, /registry file: .*registry\.yaml:3/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
