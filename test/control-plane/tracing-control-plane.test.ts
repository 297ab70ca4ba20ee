// The control plane and two proxies (local mode, real processes) tracing to a
// real Jaeger: Certify calls and snapshot pushes become spans with the right
// attributes; the proxies' client spans carry the peer's identity; and every
// metric docs/metrics.md lists exists on the real /metrics endpoints.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHttpEcho, type EchoApp } from "../fixtures/apps/http-echo.ts";
import { freePorts } from "../support/ports.ts";
import { Processes } from "../support/process.ts";
import { CLI, CP, controlPlaneStarted, proxyReady, PROXY, ROOT, TD } from "./local-process-harness.ts";
import { startJaeger, tag, type Jaeger, type JaegerSpan } from "../tracing/jaeger.ts";

/** Metric names (first column, in backticks) of docs/metrics.md, by section ("## Proxy", "## Control plane"). */
function documentedMetrics(markdown: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = "";
  for (const line of markdown.split("\n")) {
    const heading = /^## (.+)$/.exec(line);
    if (heading) section = heading[1]?.trim() ?? "";
    const row = /^\| `([a-z_:][a-z0-9_:]*)` \|/.exec(line);
    if (row && section) out.set(section, [...(out.get(section) ?? []), row[1] ?? ""]);
  }
  return out;
}

describe("control plane tracing and metrics (local mode, real Jaeger)", function () {
  this.timeout(180_000);
  let dir: string;
  let app: EchoApp;
  let jaeger: Jaeger;
  const processes = new Processes();
  let cpAdmin = 0;
  let aAdmin = 0;
  let bAdmin = 0;

  const start = (name: string, args: string[], env: Record<string, string> = {}) => processes.node(name, args, { env });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "weft-cp-tracing-"));
    app = await startHttpEcho(0, "127.0.0.1", "echo");
    jaeger = await startJaeger();
    const tracingEnv = (service: string): Record<string, string> => ({
      WEFT_TRACING_ENDPOINT: jaeger.otlpGrpcEndpoint,
      WEFT_TRACING_PROTOCOL: "grpc",
      WEFT_TRACING_SAMPLING_RATIO: "1",
      WEFT_TRACING_SERVICE_NAME: service,
    });

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
    const [bInbound, aOut, admin1, admin2] = (await freePorts(4)) as [number, number, number, number];
    [aAdmin, bAdmin] = [admin1, admin2];
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

    const cp = start("control-plane", [CP, "--mode", "local", "--issuer-dir", ca, "--registry", registry, "--trust-domain", TD, "--host", "127.0.0.1", "--identity-port", "0", "--discovery-port", "0", "--admin-port", "0", "--drain", "2s"], tracingEnv("weft-cp-test"));
    const started = await controlPlaneStarted(cp);
    cpAdmin = started.adminPort;
    const common = (sa: string, admin: number): string[] => [
      PROXY, "--control-plane", `127.0.0.1:${started.identityPort}`, "--identity-token-file", token(sa), "--trust-anchors", join(ca, "ca.crt"),
      "--trust-domain", TD, "--listen-host", "127.0.0.1", "--inbound-port", "0", "--outbound-port", "0", "--admin-port", String(admin), "--log-level", "warn",
    ];
    const env = (sa: string): Record<string, string> => ({
      WEFT_POD_NAMESPACE: "demo", WEFT_SERVICE_ACCOUNT: sa, WEFT_DISCOVERY_ADDRESS: `127.0.0.1:${started.discoveryPort}`, ...tracingEnv(`weft-proxy-${sa}`),
    });
    const proxyB = start("proxy-b", [...common("echo", bAdmin), "--inbound-app", `${bInbound}=${app.port}`], env("echo"));
    const proxyA = start("proxy-a", [...common("client", aAdmin), "--outbound-bind", `${aOut}=10.96.0.10:80`, "--endpoint-dial", `10.0.0.2:${app.port}=127.0.0.1:${bInbound}`], env("client"));
    await proxyReady(proxyA, aAdmin);
    await proxyReady(proxyB, bAdmin);
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`http://127.0.0.1:${aOut}/traced/${i}`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
  });
  after(async () => {
    await processes.stopAll(5_000);
    await jaeger?.stop();
    app?.server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") console.error(processes.report());
  });

  it("exports a span per Certify call, with the issued identity, serial and outcome", async () => {
    const traces = await jaeger.waitForTraces("weft-cp-test", (ts) => ts.flatMap((t) => t.spans).filter((s) => s.operationName === "weft.identity.certify").length >= 2, 60_000);
    const certify = traces.flatMap((t) => t.spans).filter((s) => s.operationName === "weft.identity.certify");
    const ids = certify.map((s) => tag(s, "weft.spiffe_id")).sort();
    assert.deepEqual(ids.slice(0, 2), [`spiffe://${TD}/ns/demo/sa/client`, `spiffe://${TD}/ns/demo/sa/echo`]);
    for (const s of certify) {
      assert.equal(tag(s, "weft.certify.outcome"), "issued");
      assert.equal(tag(s, "rpc.method"), "Certify");
      assert.equal(tag(s, "rpc.system"), "grpc");
      assert.match(String(tag(s, "weft.certificate.serial")), /^[0-9a-f]+$/);
      assert.ok(!Number.isNaN(Date.parse(String(tag(s, "weft.certificate.not_after")))));
    }
  });

  it("exports a span per snapshot push, naming the proxy and the version", async () => {
    const traces = await jaeger.waitForTraces("weft-cp-test", (ts) => ts.flatMap((t) => t.spans).filter((s) => s.operationName === "weft.discovery.push").length >= 2, 60_000);
    const pushes = traces.flatMap((t) => t.spans).filter((s) => s.operationName === "weft.discovery.push");
    assert.deepEqual([...new Set(pushes.map((s) => tag(s, "weft.proxy.service_account")))].sort(), ["client", "echo"]);
    for (const s of pushes) {
      assert.equal(tag(s, "weft.proxy.namespace"), "demo");
      assert.ok(String(tag(s, "weft.snapshot.version")).length > 0);
      assert.ok(Number(tag(s, "weft.snapshot.bytes")) > 0);
    }
  });

  it("the calling proxy's client spans carry the expected peer identity", async () => {
    const traces = await jaeger.waitForTraces("weft-proxy-client", (ts) => ts.length >= 5, 60_000);
    // Process ids are per trace: resolve each span's process within its own trace.
    const clientSpans: JaegerSpan[] = traces.flatMap((t) =>
      t.spans.filter((s) => tag(s, "span.kind") === "client" && t.processes[s.processID]?.serviceName === "weft-proxy-client"),
    );
    assert.ok(clientSpans.length >= 5, `client spans: ${clientSpans.length}`);
    for (const s of clientSpans) assert.equal(tag(s, "weft.peer.identity"), `spiffe://${TD}/ns/demo/sa/echo`, JSON.stringify(s.tags));
  });

  it("every metric docs/metrics.md lists exists on the proxies' and the control plane's /metrics", async () => {
    const scrape = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const [cpText, aText, bText] = await Promise.all([scrape(cpAdmin), scrape(aAdmin), scrape(bAdmin)]);
    // Connected proxies, pushes and certificates after both proxies connected.
    assert.match(cpText, /^weft_discovery_streams 2$/m);
    assert.match(cpText, /^weft_identity_certificates_issued_total 2$/m);
    assert.ok(/^weft_discovery_pushes_total\{kind="full"\} ([2-9]|\d\d+)$/m.test(cpText), "at least one full push per proxy");
    assert.match(cpText, /^weft_control_plane_trace_spans_total\{outcome="exported"\} \d+$/m);
    assert.match(aText, /^weft_proxy_trace_spans_total\{outcome="exported"\} \d+$/m);
    const docs = documentedMetrics(readFileSync(join(ROOT, "docs/metrics.md"), "utf8"));
    const proxy = docs.get("Proxy") ?? [];
    const controlPlane = docs.get("Control plane") ?? [];
    assert.ok(proxy.length >= 10 && controlPlane.length >= 8, `documented: proxy ${proxy.length}, control plane ${controlPlane.length}`);
    const exposes = (text: string, name: string) => new RegExp(`^# TYPE ${name} `, "m").test(text);
    for (const name of proxy) assert.ok(exposes(aText, name) && exposes(bText, name), `proxy /metrics lacks ${name}`);
    for (const name of controlPlane) assert.ok(exposes(cpText, name), `control plane /metrics lacks ${name}`);
    // And the other way: nothing exposed goes undocumented (process_* defaults aside).
    const undocumented = (text: string, listed: string[]) =>
      [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? "").filter((n) => !listed.includes(n) && !/_(process|nodejs)_/.test(n));
    assert.deepEqual(undocumented(aText, proxy), [], "proxy metrics missing from docs/metrics.md");
    assert.deepEqual(undocumented(cpText, controlPlane), [], "control-plane metrics missing from docs/metrics.md");
  });
});
