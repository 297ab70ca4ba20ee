import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as net from "node:net";
import { startHttpEcho, type EchoApp } from "../fixtures/apps/http-echo.ts";
import { testPki, waitFor } from "./mesh-harness.ts";

const NODE = process.execPath;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("weft-proxy main.ts in static mode (as the netns tests run it)", function () {
  this.timeout(60_000);
  let dir: string;
  let app: EchoApp;
  const children: ChildProcess[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "weft-proxy-"));
    app = await startHttpEcho();
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    app.server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves through a client/server pair of processes, reports ready, and drains on SIGTERM", async () => {
    const pki = await testPki();
    for (const [name, leaf] of [["client", pki.client], ["server", pki.server]] as const) {
      await writeFile(path.join(dir, `${name}.crt`), leaf.certChainPem);
      await writeFile(path.join(dir, `${name}.key`), leaf.keyPem);
    }
    await writeFile(path.join(dir, "anchors.pem"), pki.mesh.anchorPem);
    const [serverInbound, clientOut, clientAdmin, serverAdmin] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const snapshot = {
      services: [{ namespace: "default", name: "echo", clusterIps: ["10.96.0.10"], ports: [{ name: "http", port: 80, protocol: "TCP" }], endpoints: [{ address: "10.0.0.1", ports: { http: app.port }, ready: true, serving: true, meshed: true, identity: pki.server.spiffeId }] }],
      policy: { inbound: { mode: "STRICT" } },
    };
    await writeFile(path.join(dir, "snapshot.json"), JSON.stringify(snapshot));
    const common = ["--static-snapshot", path.join(dir, "snapshot.json"), "--trust-anchors", path.join(dir, "anchors.pem"), "--listen-host", "127.0.0.1", "--inbound-port", "0", "--outbound-port", "0", "--log-level", "warn"];
    const start = (args: string[]): ChildProcess => {
      const child = spawn(NODE, ["sidecar/src/main.ts", ...common, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      child.stderr?.on("data", () => {});
      child.stdout?.on("data", () => {});
      children.push(child);
      return child;
    };
    const server = start(["--cert", path.join(dir, "server.crt"), "--key", path.join(dir, "server.key"), "--admin-port", String(serverAdmin), "--inbound-app", `${serverInbound}=${app.port}`]);
    const client = start([
      "--cert", path.join(dir, "client.crt"), "--key", path.join(dir, "client.key"), "--admin-port", String(clientAdmin),
      "--outbound-bind", `${clientOut}=10.96.0.10:80`, "--endpoint-dial", `10.0.0.1:${app.port}=127.0.0.1:${serverInbound}`,
    ]);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${clientAdmin}/ready`).catch(() => undefined))?.status === 200, 30_000);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${serverAdmin}/ready`).catch(() => undefined))?.status === 200, 30_000);
    const res = await fetch(`http://127.0.0.1:${clientOut}/through`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { headers: Record<string, string> };
    assert.equal(body.headers["weft-client-id"], pki.client.spiffeId);
    const config = (await (await fetch(`http://127.0.0.1:${clientAdmin}/config`)).json()) as { certificate: { spiffeId: string }; snapshot: { services: unknown[] } };
    assert.equal(config.certificate.spiffeId, pki.client.spiffeId);
    assert.equal(config.snapshot.services.length, 1);
    const metrics = await (await fetch(`http://127.0.0.1:${clientAdmin}/metrics`)).text();
    assert.match(metrics, /weft_proxy_requests_total\{direction="outbound",peer_service="default\/echo",status_class="2xx"/);
    for (const child of [client, server]) {
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
    }
  });
});
