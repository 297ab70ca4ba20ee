// The proxy's /metrics against the traffic actually sent: a known mix of
// requests through a client proxy and two server proxies (real mTLS on
// loopback), then the counters by direction, status class, retries,
// connections and opaque TCP bytes must match it exactly.
import { strict as assert } from "node:assert";
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import type { RunningProxy } from "../../sidecar/src/proxy.ts";
import { waitFor } from "../support/wait.ts";
import { startMesh, type Mesh } from "./mesh-harness.ts";

const SERVICE = "default/echo";

/** /ok 200, /missing 404, /unavailable 503, /flaky/<id> 503 the first time each id is seen, then 200. */
async function startMixApp(): Promise<{ server: http.Server; port: number; requests: number }> {
  const seen = new Set<string>();
  const app = { server: http.createServer(), port: 0, requests: 0 };
  app.server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    app.requests += 1;
    req.resume();
    const path = req.url ?? "/";
    let status = 200;
    if (path.startsWith("/missing")) status = 404;
    else if (path.startsWith("/unavailable")) status = 503;
    else if (path.startsWith("/flaky/") && !seen.has(path)) {
      seen.add(path);
      status = 503;
    }
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(status === 200 ? "ok\n" : "no\n");
  });
  await new Promise<void>((r) => app.server.listen(0, "127.0.0.1", r));
  app.port = (app.server.address() as AddressInfo).port;
  return app;
}

function request(port: number, path: string, method = "GET"): Promise<number> {
  return new Promise((resolve, reject) => {
    // agent: false: one TCP connection per request, so connection counts are known.
    const req = http.request({ host: "127.0.0.1", port, path, method, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(method === "POST" ? "payload" : undefined);
  });
}

/** Prometheus text exposition -> samples; `match` selects by name and a subset of labels. */
function parseSamples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ""] = l[2] ?? "";
    out.push({ name: m[1] ?? "", labels, value: Number(m[3]) });
  }
  return out;
}

function sum(text: string, name: string, labels: Record<string, string> = {}): number {
  return parseSamples(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

function scrapeAdmin(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: "/metrics", agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`/metrics ${res.statusCode}`))));
      })
      .on("error", reject);
  });
}

async function serversText(servers: RunningProxy[]): Promise<string> {
  return (await Promise.all(servers.map((s) => s.metrics.registry.metrics()))).join("\n");
}

describe("proxy /metrics against the traffic sent", function () {
  this.timeout(90_000);
  let app: Awaited<ReturnType<typeof startMixApp>>;
  let mesh: Mesh;

  before(async () => {
    app = await startMixApp();
    // Two server proxies in front of the same app: a retry goes to the other endpoint.
    mesh = await startMesh({ backends: [{ appPort: app.port }, { appPort: app.port }] });
  });
  after(async () => {
    await mesh?.stop();
    app?.server.close();
  });

  it("counts requests by direction and status class, retries, connections and latency", async () => {
    const OK = 50;
    const MISSING = 10;
    const UNAVAILABLE = 5;
    const FLAKY = 8;
    const statuses: number[] = [];
    // Sequential: the counts are exact, and the scrape mid-traffic below sees a consistent prefix.
    for (let i = 0; i < OK; i++) statuses.push(await request(mesh.port, `/ok/${i}`));
    const admin = mesh.client.ports.get("admin") ?? 0;
    const during = await scrapeAdmin(admin);
    assert.equal(sum(during, "weft_proxy_requests_total", { direction: "outbound", peer_service: SERVICE, status_class: "2xx" }), OK);
    for (let i = 0; i < MISSING; i++) statuses.push(await request(mesh.port, `/missing/${i}`));
    for (let i = 0; i < UNAVAILABLE; i++) statuses.push(await request(mesh.port, `/unavailable/${i}`, "POST"));
    for (let i = 0; i < FLAKY; i++) statuses.push(await request(mesh.port, `/flaky/${i}`));
    assert.equal(statuses.filter((s) => s === 200).length, OK + FLAKY, "flaky GETs succeed after a retry");
    assert.equal(statuses.filter((s) => s === 404).length, MISSING);
    assert.equal(statuses.filter((s) => s === 503).length, UNAVAILABLE, "POSTs that got a 503 are not retried");

    const client = await scrapeAdmin(admin);
    const out = { direction: "outbound", peer_service: SERVICE };
    assert.equal(sum(client, "weft_proxy_requests_total", { ...out, status_class: "2xx" }), OK + FLAKY);
    assert.equal(sum(client, "weft_proxy_requests_total", { ...out, status_class: "4xx" }), MISSING);
    assert.equal(sum(client, "weft_proxy_requests_total", { ...out, status_class: "5xx" }), UNAVAILABLE);
    assert.equal(sum(client, "weft_proxy_requests_total", { ...out, grpc_status: "" }), OK + FLAKY + MISSING + UNAVAILABLE);
    assert.equal(sum(client, "weft_proxy_retries_total", { peer_service: SERVICE }), FLAKY);
    assert.equal(sum(client, "weft_proxy_retry_budget_exhausted_total"), 0);
    const total = OK + MISSING + UNAVAILABLE + FLAKY;
    assert.equal(sum(client, "weft_proxy_request_duration_seconds_count", out), total);
    assert.ok(sum(client, "weft_proxy_request_duration_seconds_sum", out) > 0);
    // One connection per request (agent: false), plus none for the scrapes (admin port is not a listener of the mesh).
    assert.equal(sum(client, "weft_proxy_tcp_connections_total", { direction: "outbound" }), total);
    assert.equal(sum(client, "weft_proxy_tls_handshake_failures_total"), 0);
    // State: the snapshot in use and the certificate's remaining life.
    assert.equal(sum(client, "weft_proxy_snapshot_info", { version: "test.1" }), 1);
    const age = sum(client, "weft_proxy_snapshot_age_seconds");
    assert.ok(age >= 0 && age < 600, `snapshot age ${age}`);
    assert.ok(sum(client, "weft_proxy_certificate_expiry_seconds") > 60);

    // The servers saw every attempt, the retried ones included; the flaky first attempts are 5xx there.
    const servers = await serversText(mesh.servers);
    const inb = { direction: "inbound" };
    assert.equal(sum(servers, "weft_proxy_requests_total", { ...inb, status_class: "2xx" }), OK + FLAKY);
    assert.equal(sum(servers, "weft_proxy_requests_total", { ...inb, status_class: "4xx" }), MISSING);
    assert.equal(sum(servers, "weft_proxy_requests_total", { ...inb, status_class: "5xx" }), UNAVAILABLE + FLAKY);
    assert.equal(app.requests, total + FLAKY);
    // Proxy-to-proxy traffic is multiplexed: a handful of mTLS connections, not one per request.
    const inboundConns = sum(servers, "weft_proxy_tcp_connections_total", { direction: "inbound" });
    assert.ok(inboundConns >= 1 && inboundConns <= 4, `inbound connections ${inboundConns}`);
    assert.equal(sum(servers, "weft_proxy_tls_handshake_failures_total"), 0);

    // Both identities and mTLS on every request series, from either end: the caller's verified
    // certificate inbound, the endpoint's identity outbound, each proxy's own on its side.
    const identities = { src_namespace: "default", src_service_account: "client", dst_namespace: "default", dst_service_account: "server", tls: "true" };
    assert.equal(sum(client, "weft_proxy_requests_total", { ...out, ...identities }), total);
    assert.equal(sum(client, "weft_proxy_request_duration_seconds_count", { ...out, ...identities }), total);
    assert.equal(sum(servers, "weft_proxy_requests_total", { ...inb, ...identities }), total + FLAKY);
    assert.equal(sum(servers, "weft_proxy_requests_total", { ...inb, tls: "false" }), 0);
  });
});

describe("proxy /metrics: opaque TCP bytes and connections", function () {
  this.timeout(90_000);
  let echo: net.Server;
  let mesh: Mesh;

  before(async () => {
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    const port = (echo.address() as AddressInfo).port;
    mesh = await startMesh({ backends: [{ appPort: port }], appProtocol: "tcp" });
  });
  after(async () => {
    await mesh?.stop();
    echo?.close();
  });

  it("counts each connection and the bytes read from and written to the client", async () => {
    const CONNECTIONS = 3;
    const SIZE = 40_000;
    for (let i = 0; i < CONNECTIONS; i++) {
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(mesh.port, "127.0.0.1");
        let received = 0;
        socket.on("data", (d: Buffer) => {
          received += d.length;
          if (received >= SIZE) socket.end();
        });
        socket.on("close", () => (received === SIZE ? resolve() : reject(new Error(`echoed ${received} of ${SIZE}`))));
        socket.on("error", reject);
        // Opaque, not HTTP: the first bytes decide the protocol.
        socket.write(Buffer.alloc(SIZE, 0x01));
      });
    }
    const admin = mesh.client.ports.get("admin") ?? 0;
    // Bytes are counted when the client's connection closes on the proxy's side.
    const text = await waitFor("the proxy to count every byte it wrote back", async () => {
      const scraped = await scrapeAdmin(admin);
      return sum(scraped, "weft_proxy_tcp_bytes_total", { direction: "outbound", flow: "written" }) >= CONNECTIONS * SIZE && scraped;
    });
    assert.equal(sum(text, "weft_proxy_tcp_connections_total", { direction: "outbound" }), CONNECTIONS);
    assert.equal(sum(text, "weft_proxy_tcp_bytes_total", { direction: "outbound", flow: "read" }), CONNECTIONS * SIZE);
    assert.equal(sum(text, "weft_proxy_tcp_bytes_total", { direction: "outbound", flow: "written" }), CONNECTIONS * SIZE);
    assert.equal(sum(text, "weft_proxy_tcp_connections_open", { direction: "outbound" }), 0);
  });
});

describe("proxy /metrics: a plaintext caller has no identity and tls false", function () {
  this.timeout(90_000);
  let app: Awaited<ReturnType<typeof startMixApp>>;
  let mesh: Mesh;

  before(async () => {
    app = await startMixApp();
    mesh = await startMesh({ backends: [{ appPort: app.port }], inboundMode: "PERMISSIVE" });
  });
  after(async () => {
    await mesh?.stop();
    app?.server.close();
  });

  it("labels a permissive plaintext request src \"\" and tls false, and an mTLS one with both identities", async () => {
    const inboundPort = mesh.servers[0]?.ports.get("inbound:0") ?? 0;
    assert.equal(await request(inboundPort, "/ok/plain"), 200);
    assert.equal(await request(mesh.port, "/ok/meshed"), 200);
    const servers = await serversText(mesh.servers);
    const inb = { direction: "inbound", dst_namespace: "default", dst_service_account: "server" };
    assert.equal(sum(servers, "weft_proxy_requests_total", { ...inb, src_namespace: "", src_service_account: "", tls: "false" }), 1);
    assert.equal(sum(servers, "weft_proxy_requests_total", { ...inb, src_namespace: "default", src_service_account: "client", tls: "true" }), 1);
  });
});
