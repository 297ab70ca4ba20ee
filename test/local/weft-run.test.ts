import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "cli/src/main.ts");
const ECHO = join(ROOT, "test/fixtures/apps/http-echo.ts");

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function poll<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve().then(fn).catch(() => undefined);
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("weft run against weft local (loopback mode)", function () {
  this.timeout(180_000);
  let dir: string;
  const children: { name: string; proc: ChildProcess; out: string }[] = [];
  const start = (name: string, args: string[]): { name: string; proc: ChildProcess; out: string } => {
    const c = { name, proc: spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] }), out: "" };
    c.proc.stdout!.on("data", (d: Buffer) => (c.out += d.toString()));
    c.proc.stderr!.on("data", (d: Buffer) => (c.out += d.toString()));
    children.push(c);
    return c;
  };
  before(() => (dir = mkdtempSync(join(tmpdir(), "weft-run-"))));
  after(async () => {
    for (const c of children.reverse()) {
      if (c.proc.exitCode !== null || c.proc.signalCode !== null) continue;
      const exited = new Promise((r) => c.proc.once("exit", r));
      c.proc.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") for (const c of children) console.error(`--- ${c.name}\n${c.out}`);
  });

  it("explains that weft local must run first", async () => {
    const c = start("early", ["run", "--name", "web", "--app-port", "8080", "--state-dir", dir, "--", "true"]);
    const code = await new Promise((r) => c.proc.once("exit", r));
    assert.equal(code, 2);
    assert.match(c.out, /^weft run: no local control plane is running .* start `weft local/m);
  });

  it("runs two workloads; the caller reaches the echo through its sidecar over mTLS", async () => {
    const [echoApp, echoIn] = await Promise.all([freePort(), freePort()]);
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
    await poll("weft local", () => (local.out.includes("local mode) up") && existsSync(join(dir, "run", "control-plane.json")) ? true : undefined));
    const [echoAdmin, webAdmin] = await Promise.all([freePort(), freePort()]);
    start("echo", ["run", "--name", "echo", "--namespace", "shop", "--app-port", String(echoApp), "--admin-port", String(echoAdmin), "--state-dir", dir, "--", process.execPath, ECHO, "--port", String(echoApp)]);
    const web = start("web", ["run", "--name", "web", "--namespace", "shop", "--app-port", "1", "--admin-port", String(webAdmin), "--state-dir", dir, "--", process.execPath, "-e", "setInterval(() => {}, 1000)"]);
    const out = await poll("web's outbound port", () => /reach shop\/echo \(http\) at 127\.0\.0\.1:(\d+)/.exec(web.out)?.[1]);
    assert.match(web.out, /^loopback mode \(/m);
    for (const admin of [echoAdmin, webAdmin]) await poll(`sidecar ${admin} ready`, async () => ((await fetch(`http://127.0.0.1:${admin}/ready`)).status === 200 ? true : undefined));
    const body = await poll("a request through the mesh", async () => {
      const res = await fetch(`http://127.0.0.1:${out}/hello`);
      return res.status === 200 ? ((await res.json()) as { headers: Record<string, string> }) : undefined;
    });
    assert.equal(body.headers["weft-client-id"], "spiffe://cluster.local/ns/shop/sa/web");
    assert.ok(JSON.parse(readFileSync(join(dir, "run", "control-plane.json"), "utf8")).discoveryPort > 0);

    // Adding a workload to the registry reaches the running sidecars through discovery.
    const registry = readFileSync(join(dir, "registry.yaml"), "utf8");
    writeFileSync(join(dir, "registry.yaml"), `${registry}      - { address: 127.0.0.1, ports: { http: 1 }, meshed: true, serviceAccount: echo, pod: shop/echo-2 }\n`);
    await poll("the new endpoint in web's sidecar", async () => {
      const config = (await (await fetch(`http://127.0.0.1:${webAdmin}/config`)).json()) as { snapshot: { services: { name: string; endpoints: unknown[] }[] } };
      return config.snapshot.services.find((s) => s.name === "echo")?.endpoints.length === 2 ? true : undefined;
    }, 30_000);
  });
});
