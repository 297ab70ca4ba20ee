import { strict as assert } from "node:assert";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { startHttpEcho, type EchoApp } from "../fixtures/apps/http-echo.ts";
import { freePorts } from "../support/ports.ts";
import { Processes } from "../support/process.ts";
import { waitFor } from "../support/wait.ts";
import { testPki } from "./mesh-harness.ts";

describe("weft-proxy main.ts in static mode (as the netns tests run it)", function () {
  this.timeout(60_000);
  let dir: string;
  let app: EchoApp;
  const processes = new Processes();

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "weft-proxy-"));
    app = await startHttpEcho();
  });
  after(async () => {
    for (const p of processes.all) p.kill();
    app.server.close();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") console.error(processes.report());
  });

  it("serves through a client/server pair of processes, reports ready, records its runtime timeline when asked, and drains on SIGTERM", async () => {
    const pki = await testPki();
    for (const [name, leaf] of [["client", pki.client], ["server", pki.server]] as const) {
      await writeFile(path.join(dir, `${name}.crt`), leaf.certChainPem);
      await writeFile(path.join(dir, `${name}.key`), leaf.keyPem);
    }
    await writeFile(path.join(dir, "anchors.pem"), pki.mesh.anchorPem);
    const [serverInbound, clientOut, clientAdmin, serverAdmin] = (await freePorts(4)) as [number, number, number, number];
    const snapshot = {
      services: [{ namespace: "default", name: "echo", clusterIps: ["10.96.0.10"], ports: [{ name: "http", port: 80, protocol: "TCP" }], endpoints: [{ address: "10.0.0.1", ports: { http: app.port }, ready: true, serving: true, meshed: true, identity: pki.server.spiffeId }] }],
      policy: { inbound: { mode: "STRICT" } },
    };
    await writeFile(path.join(dir, "snapshot.json"), JSON.stringify(snapshot));
    const common = ["--static-snapshot", path.join(dir, "snapshot.json"), "--trust-anchors", path.join(dir, "anchors.pem"), "--listen-host", "127.0.0.1", "--inbound-port", "0", "--outbound-port", "0", "--log-level", "warn"];
    const statsFile = path.join(dir, "client-runtime.jsonl");
    const start = (name: string, args: string[]) => processes.node(name, ["sidecar/src/main.ts", ...common, ...args], name === "client" ? { env: { WEFT_RUNTIME_STATS_FILE: statsFile } } : undefined);
    const server = start("server", ["--cert", path.join(dir, "server.crt"), "--key", path.join(dir, "server.key"), "--admin-port", String(serverAdmin), "--inbound-app", `${serverInbound}=${app.port}`]);
    const client = start("client", [
      "--cert", path.join(dir, "client.crt"), "--key", path.join(dir, "client.key"), "--admin-port", String(clientAdmin),
      "--outbound-bind", `${clientOut}=10.96.0.10:80`, "--endpoint-dial", `10.0.0.1:${app.port}=127.0.0.1:${serverInbound}`,
    ]);
    for (const [name, admin] of [["client", clientAdmin], ["server", serverAdmin]] as const) {
      await waitFor(`the ${name} proxy's /ready to answer 200`, async () => (await fetch(`http://127.0.0.1:${admin}/ready`)).status === 200, { timeoutMs: 30_000 });
    }
    const res = await fetch(`http://127.0.0.1:${clientOut}/through`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { headers: Record<string, string> };
    assert.equal(body.headers["weft-client-id"], pki.client.spiffeId);
    const config = (await (await fetch(`http://127.0.0.1:${clientAdmin}/config`)).json()) as { certificate: { spiffeId: string }; snapshot: { services: unknown[] } };
    assert.equal(config.certificate.spiffeId, pki.client.spiffeId);
    assert.equal(config.snapshot.services.length, 1);
    const metrics = await (await fetch(`http://127.0.0.1:${clientAdmin}/metrics`)).text();
    assert.match(metrics, /weft_proxy_requests_total\{direction="outbound",peer_service="default\/echo",status_class="2xx"/);
    const kinds = async () => (await readFile(statsFile, "utf8").catch(() => "")).split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { t: string }).t);
    await waitFor("the client's runtime timeline to hold its start and a loop-delay line", async () => { const k = await kinds(); return k[0] === "start" && k.includes("loop"); });
    for (const p of [client, server]) assert.equal(await p.stop(30_000), 0, `the ${p.name} proxy exits 0 on SIGTERM`);
    assert.equal((await kinds()).at(-1), "loop", "the timeline's last line is written on shutdown");
  });
});
