// Authorization enforced by the server proxy (docs/authorization.md), over
// real sockets: client proxies with their own mesh certificates call a server
// proxy through real mTLS, and the server proxy's snapshot carries the
// Authorization. Refusals are 403 (gRPC: PERMISSION_DENIED) naming the policy
// and leave the connection usable; a refused opaque connection is closed.
import { strict as assert } from "node:assert";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { ProxyPolicy } from "../../api/gen/weft/discovery/v1/ProxyPolicy.ts";
import { silentLogger, type Logger } from "../../lib/log.ts";
import { pino } from "pino";
import { MeshView } from "../../sidecar/src/discovery/mesh-view.ts";
import { startProxy, type RunningProxy } from "../../sidecar/src/proxy.ts";
import { EchoClient, startGrpcEcho } from "../fixtures/apps/grpc-echo.ts";
import type { TestLeaf } from "../fixtures/mesh-pki.ts";
import { waitFor } from "../support/wait.ts";
import { CLUSTER_IP, SERVICE_PORT, holder, meshState, testPki } from "./mesh-harness.ts";

type GrpcClient = grpc.Client & {
  unary(req: Buffer, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): grpc.ClientUnaryCall;
};

/** The wire form of an Authorization, as a snapshot's JSON writes it. */
type AuthorizationJson = Record<string, unknown>;

export interface AuthzMesh {
  server: RunningProxy;
  serverView: MeshView;
  /** The server proxy's inbound port (for plaintext callers). */
  inboundPort: number;
  /** Local ports of the client proxies' listeners for the Service: one holds the client's certificate, one the intruder's. */
  clientPort: number;
  intruderPort: number;
  /** Replaces the server's inbound policy, as a new snapshot would. */
  setAuthorization(authorization: AuthorizationJson | null): void;
  stop(): Promise<void>;
}

interface MeshOptions {
  opaque?: boolean;
  noSnapshot?: boolean;
  /** The server proxy's logger (default: silent). */
  logger?: Logger;
}

function inboundPolicy(authorization: AuthorizationJson | null): ProxyPolicy {
  return { inbound: authorization ? { mode: "STRICT", authorization } : { mode: "STRICT" } } as ProxyPolicy;
}

export async function startAuthzMesh(appPort: number, authorization: AuthorizationJson | null, options: MeshOptions = {}): Promise<AuthzMesh> {
  const pki = await testPki();
  const serverView = new MeshView();
  if (!options.noSnapshot) serverView.update(meshState({ policy: inboundPolicy(authorization) }));
  const server = await startProxy({ view: serverView, credentials: holder(pki.server), logger: options.logger ?? silentLogger(), listenHost: "127.0.0.1", inboundApps: [{ listenPort: 0, appPort }] });
  const inboundPort = server.ports.get("inbound:0") ?? 0;
  const address = "10.0.0.1";
  const client = async (leaf: TestLeaf): Promise<RunningProxy> => {
    const view = new MeshView(new Map([[`${address}:${appPort}`, { host: "127.0.0.1", port: inboundPort }]]));
    const endpoint = { address, ports: { http: appPort }, ready: true, serving: true, meshed: true, identity: pki.server.spiffeId };
    view.update(meshState({ services: [{ namespace: "default", name: "echo", clusterIps: [CLUSTER_IP], ports: [{ name: "http", port: SERVICE_PORT, protocol: "TCP" }], endpoints: [endpoint] }] }));
    return startProxy({
      view,
      credentials: holder(leaf),
      logger: silentLogger(),
      listenHost: "127.0.0.1",
      outboundBinds: [{ listenPort: 0, address: CLUSTER_IP, port: SERVICE_PORT }],
      opaquePorts: new Set(options.opaque ? [SERVICE_PORT] : []),
      // As mesh-harness.ts: the suite can run over either hop between proxies.
      peerTransport: process.env.WEFT_TEST_PEER_TRANSPORT === "h2" ? "h2" : undefined,
    });
  };
  const good = await client(pki.client);
  const bad = await client(pki.intruder);
  return {
    server,
    serverView,
    inboundPort,
    clientPort: good.ports.get("outbound:0") ?? 0,
    intruderPort: bad.ports.get("outbound:0") ?? 0,
    setAuthorization: (a) => serverView.update(meshState({ policy: inboundPolicy(a) })),
    async stop() {
      await Promise.all([good.drain(1_000), bad.drain(1_000), server.drain(1_000)]);
    },
  };
}

/** An HTTP/1.1 app answering `ok <path>`; it counts what reached it. */
async function httpApp(): Promise<{ port: number; paths: string[]; close: () => void }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? "");
    req.resume();
    req.on("end", () => res.end(`ok ${req.url ?? ""}`));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, paths, close: () => server.close() };
}

/** A TCP app that echoes; it counts the connections it got. */
async function tcpEcho(): Promise<{ port: number; connections: () => number; close: () => void }> {
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.on("error", () => {});
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections, close: () => server.close() };
}

interface Reply {
  status: number;
  body: string;
}

function get(port: number, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, headers: { host: "echo", ...headers }, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
  });
}

function h2Get(port: number, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const stream = session.request({ ":method": "GET", ":path": path, ":authority": "echo" });
    let status = 0;
    let body = "";
    stream.on("response", (h) => (status = Number(h[":status"])));
    stream.on("data", (c: Buffer) => (body += c.toString()));
    stream.on("end", () => {
      session.close();
      resolve({ status, body });
    });
    stream.on("error", reject);
  });
}

/** One keep-alive connection: requests in turn, each answer read whole (the app's answers carry content-length). */
class KeepAlive {
  readonly socket: net.Socket;
  #buffer = "";
  closed = false;

  constructor(port: number) {
    this.socket = net.connect({ host: "127.0.0.1", port });
    this.socket.on("data", (d: Buffer) => (this.#buffer += d.toString("latin1")));
    this.socket.on("error", () => {});
    this.socket.on("close", () => (this.closed = true));
  }

  request(path: string): Promise<Reply> {
    return this.exchange(`GET ${path} HTTP/1.1\r\nhost: echo\r\n\r\n`);
  }

  async exchange(raw: string): Promise<Reply> {
    this.#buffer = "";
    this.socket.write(raw);
    const reply = await waitFor(`the answer to ${raw.split("\r\n")[0] ?? ""}`, () => {
      const end = this.#buffer.indexOf("\r\n\r\n");
      if (end < 0) return undefined;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(this.#buffer.slice(0, end))?.[1] ?? "0");
      if (this.#buffer.length < end + 4 + length) return undefined;
      return { status: Number(this.#buffer.slice(9, 12)), body: this.#buffer.slice(end + 4, end + 4 + length) };
    }, { intervalMs: 5 });
    return reply;
  }
}

async function authzCount(proxy: RunningProxy, labels: { decision: string; policy?: string }): Promise<number> {
  const metric = await proxy.metrics.authz.get();
  let total = 0;
  for (const v of metric.values) {
    if (v.labels.decision === labels.decision && (labels.policy === undefined || v.labels.policy === labels.policy)) total += v.value;
  }
  return total;
}

/** Opens an opaque connection through a client proxy, sends a line, and says whether it came back or the connection closed. */
function opaqueExchange(port: number): Promise<"echoed" | "closed"> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => socket.write("hello opaque\n"));
    let got = "";
    socket.on("data", (d: Buffer) => {
      got += d.toString();
      if (got.includes("hello opaque")) {
        socket.destroy();
        resolve("echoed");
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve(got.includes("hello opaque") ? "echoed" : "closed"));
  });
}

describe("authorization in the server proxy", function () {
  this.timeout(30_000);
  const stops: (() => unknown)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function meshFor(appPort: number, close: () => void, authorization: AuthorizationJson | null, options: MeshOptions = {}): Promise<AuthzMesh> {
    const mesh = await startAuthzMesh(appPort, authorization, options);
    stops.push(close, () => mesh.stop());
    return mesh;
  }

  async function clientOnly(): Promise<AuthorizationJson> {
    const pki = await testPki();
    return { defaultPolicy: "DEFAULT_ALL_AUTHENTICATED", trustDomain: pki.mesh.trustDomain, policies: [{ name: "default/client-only", action: "ALLOW", rules: [{ from: [{ identities: [pki.client.spiffeId] }] }] }] };
  }

  it("ALLOW lets one identity through and refuses another over HTTP/1.1 and HTTP/2", async () => {
    const app = await httpApp();
    const mesh = await meshFor(app.port, app.close, await clientOnly());
    assert.deepEqual(await get(mesh.clientPort, "/a"), { status: 200, body: "ok /a" });
    const refused = await get(mesh.intruderPort, "/b");
    assert.equal(refused.status, 403);
    // No ALLOW matched: the refusal names the first ALLOW policy on the port, and nothing else.
    assert.equal(refused.body, "forbidden by policy default/client-only\n");
    assert.deepEqual(await h2Get(mesh.clientPort, "/c"), { status: 200, body: "ok /c" });
    assert.equal((await h2Get(mesh.intruderPort, "/d")).status, 403);
    assert.deepEqual(app.paths, ["/a", "/c"], "no refused request reached the app");
    assert.equal(await authzCount(mesh.server, { decision: "allow" }), 2);
    assert.equal(await authzCount(mesh.server, { decision: "deny" }), 2);
  });

  it("ALLOW refuses another identity's gRPC call with PERMISSION_DENIED (grpc-js client)", async () => {
    const app = await startGrpcEcho();
    const mesh = await meshFor(app.port, () => app.server.forceShutdown(), await clientOnly());
    const call = (port: number): Promise<grpc.ServiceError | Buffer> => {
      const client = new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as GrpcClient;
      stops.push(() => client.close());
      return new Promise((resolve) => client.unary(Buffer.from("hi"), new grpc.Metadata(), (err, res) => resolve(err ?? res ?? Buffer.alloc(0))));
    };
    const allowed = await call(mesh.clientPort);
    assert.ok(Buffer.isBuffer(allowed), `the client's call failed: ${String(allowed)}`);
    assert.match(allowed.toString(), /^hi/);
    const refused = await call(mesh.intruderPort);
    assert.ok(!Buffer.isBuffer(refused));
    assert.equal(refused.code, grpc.status.PERMISSION_DENIED);
    assert.equal(refused.details, "forbidden by policy default/client-only");
    assert.equal(app.calls, 1);
  });

  it("a DENY on a path beats an ALLOW", async () => {
    const pki = await testPki();
    const app = await httpApp();
    const mesh = await meshFor(app.port, app.close, {
      defaultPolicy: "DEFAULT_ALL_AUTHENTICATED",
      trustDomain: pki.mesh.trustDomain,
      policies: [
        { name: "default/client-only", action: "ALLOW", rules: [{ from: [{ identities: [pki.client.spiffeId] }] }] },
        { name: "default/no-admin", action: "DENY", rules: [{ to: [{ paths: [{ prefix: "/admin/" }] }] }] },
      ],
    });
    assert.equal((await get(mesh.clientPort, "/public?x=1")).status, 200);
    assert.deepEqual(await get(mesh.clientPort, "/admin/users?x=1"), { status: 403, body: "forbidden by policy default/no-admin\n" });
    assert.deepEqual(app.paths, ["/public?x=1"]);
    assert.equal(await authzCount(mesh.server, { decision: "deny", policy: "default/no-admin" }), 1);
  });

  it("a DENY on a path refuses the spellings an app reads as that path (dot segments, escapes, doubled slashes)", async () => {
    const app = await httpApp();
    const mesh = await meshFor(app.port, app.close, {
      defaultPolicy: "DEFAULT_ALL_AUTHENTICATED",
      policies: [{ name: "default/no-admin", action: "DENY", rules: [{ to: [{ paths: [{ prefix: "/admin/" }] }] }] }],
    });
    for (const path of ["/x/../admin/users", "//admin/users", "/%61dmin/users", "/admin%2Fusers", "/./admin/users"]) {
      assert.deepEqual(await get(mesh.clientPort, path), { status: 403, body: "forbidden by policy default/no-admin\n" }, path);
    }
    assert.equal((await get(mesh.clientPort, "/adminx/../public")).status, 200);
    assert.deepEqual(app.paths, ["/adminx/../public"], "an allowed path reaches the app exactly as sent");
  });

  it("AUDIT refuses nothing, and is counted", async () => {
    const app = await httpApp();
    const mesh = await meshFor(app.port, app.close, { defaultPolicy: "DEFAULT_ALL_AUTHENTICATED", policies: [{ name: "default/watch", action: "AUDIT", rules: [{ to: [{ methods: ["GET"] }] }] }] });
    assert.equal((await get(mesh.clientPort, "/one")).status, 200);
    assert.equal((await get(mesh.intruderPort, "/two")).status, 200);
    assert.equal(await authzCount(mesh.server, { decision: "audit", policy: "default/watch" }), 2);
    assert.equal(await authzCount(mesh.server, { decision: "deny" }), 0);
  });

  it("the deny default refuses HTTP with 403 and closes opaque TCP", async () => {
    const app = await httpApp();
    const mesh = await meshFor(app.port, app.close, { defaultPolicy: "DEFAULT_DENY" });
    assert.deepEqual(await get(mesh.clientPort, "/x"), { status: 403, body: "forbidden by policy default:deny\n" });
    assert.deepEqual(app.paths, []);
    const tcp = await tcpEcho();
    const opaque = await meshFor(tcp.port, tcp.close, { defaultPolicy: "DEFAULT_DENY" }, { opaque: true });
    assert.equal(await opaqueExchange(opaque.clientPort), "closed");
    assert.equal(tcp.connections(), 0, "the app never saw the refused connection");
    assert.equal(await authzCount(opaque.server, { decision: "deny", policy: "default:deny" }), 1);
  });

  it("opaque TCP passes when the policy allows the caller on the port", async () => {
    const tcp = await tcpEcho();
    const mesh = await meshFor(tcp.port, tcp.close, await clientOnly(), { opaque: true });
    assert.equal(await opaqueExchange(mesh.clientPort), "echoed");
    assert.equal(await opaqueExchange(mesh.intruderPort), "closed");
    assert.equal(tcp.connections(), 1);
  });

  it("a dry-run deny default lets requests through and counts dry-run-deny", async () => {
    const app = await httpApp();
    const mesh = await meshFor(app.port, app.close, { defaultPolicy: "DEFAULT_DENY", defaultDryRun: true });
    assert.equal((await get(mesh.clientPort, "/dry")).status, 200);
    assert.deepEqual(app.paths, ["/dry"]);
    assert.equal(await authzCount(mesh.server, { decision: "dry-run-deny" }), 1);
    assert.equal(await authzCount(mesh.server, { decision: "deny" }), 0);
  });

  it("a new snapshot changes the decision on an existing keep-alive connection without dropping it", async () => {
    const app = await httpApp();
    const mesh = await meshFor(app.port, app.close, await clientOnly());
    const conn = new KeepAlive(mesh.clientPort);
    stops.push(() => conn.socket.destroy());
    assert.equal((await conn.request("/before")).status, 200);
    mesh.setAuthorization({ defaultPolicy: "DEFAULT_ALL_AUTHENTICATED", policies: [{ name: "default/nobody", action: "ALLOW", rules: [] }] });
    assert.equal((await conn.request("/during")).status, 403);
    mesh.setAuthorization(await clientOnly());
    assert.equal((await conn.request("/after")).status, 200);
    assert.equal(conn.closed, false);
    const accepted = await mesh.server.metrics.tcpConnections.get();
    assert.equal(accepted.values.reduce((n, v) => n + (v.labels.direction === "inbound" ? v.value : 0), 0), 1, "one peer connection carried all three requests");
    assert.deepEqual(app.paths, ["/before", "/after"]);
  });

  it("a refused request with a body leaves the HTTP/1.1 connection usable", async () => {
    const app = await httpApp();
    const mesh = await meshFor(app.port, app.close, { defaultPolicy: "DEFAULT_ALL_AUTHENTICATED", policies: [{ name: "default/no-posts", action: "DENY", rules: [{ to: [{ methods: ["POST"] }] }] }] });
    const conn = new KeepAlive(mesh.clientPort);
    stops.push(() => conn.socket.destroy());
    assert.deepEqual(await conn.exchange("POST /p HTTP/1.1\r\nhost: echo\r\ncontent-length: 5\r\n\r\nhello"), { status: 403, body: "forbidden by policy default/no-posts\n" });
    assert.equal((await conn.request("/next")).status, 200);
    assert.deepEqual(app.paths, ["/next"]);
  });

  it("takes plaintext on a port only as acceptsPlaintext says, and evaluates it with no peer", async () => {
    const app = await httpApp();
    const mesh = await meshFor(app.port, app.close, { defaultPolicy: "DEFAULT_ALL_AUTHENTICATED" });
    const plain = await get(mesh.inboundPort, "/health").catch(() => ({ status: 0, body: "" }));
    assert.equal(plain.status === 200, false, "plaintext refused while only mesh callers can be allowed");
    mesh.setAuthorization({
      defaultPolicy: "DEFAULT_ALL_AUTHENTICATED",
      policies: [{ name: "default/health", action: "ALLOW", rules: [{ from: [{ unauthenticated: true }], to: [{ paths: [{ exact: "/health" }] }] }] }],
    });
    assert.deepEqual(await get(mesh.inboundPort, "/health"), { status: 200, body: "ok /health" });
    assert.equal((await get(mesh.inboundPort, "/secret")).status, 403);
    assert.deepEqual(app.paths, ["/health"]);
  });

  it("without an authorization field keeps the connection-level rules (STRICT: mesh callers only, plaintext refused)", async () => {
    const app = await httpApp();
    const mesh = await meshFor(app.port, app.close, null);
    assert.equal((await get(mesh.clientPort, "/a")).status, 200);
    assert.equal((await get(mesh.intruderPort, "/b")).status, 200);
    assert.equal((await get(mesh.inboundPort, "/c")).status, 403);
    assert.equal(await authzCount(mesh.server, { decision: "allow" }), 0, "nothing is evaluated without an authorization");
  });

  it("before any snapshot refuses every caller (the workload's default is not known yet), then enforces the first snapshot's authorization", async () => {
    const app = await httpApp();
    const mesh = await meshFor(app.port, app.close, null, { noSnapshot: true });
    assert.equal((await get(mesh.inboundPort, "/plain")).status, 403);
    assert.deepEqual(await get(mesh.clientPort, "/mesh"), { status: 403, body: "forbidden by policy default:no-policy-yet\n" });
    mesh.setAuthorization({ defaultPolicy: "DEFAULT_ALL_AUTHENTICATED" });
    assert.equal((await get(mesh.clientPort, "/mesh")).status, 200);
    mesh.setAuthorization({ defaultPolicy: "DEFAULT_DENY" });
    assert.equal((await get(mesh.clientPort, "/mesh")).status, 403);
    assert.deepEqual(app.paths, ["/mesh"]);
  });

  it("decides the head of an Upgrade before the app sees it", async () => {
    const app = await httpApp();
    let upgrades = 0;
    // Reached only if the proxy let the head through.
    const server = http.createServer();
    server.on("upgrade", (_req: http.IncomingMessage, socket: net.Socket) => {
      upgrades++;
      socket.end("HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    app.close();
    const mesh = await meshFor((server.address() as net.AddressInfo).port, () => server.close(), { defaultPolicy: "DEFAULT_DENY" });
    const conn = new KeepAlive(mesh.clientPort);
    stops.push(() => conn.socket.destroy());
    const reply = await conn.exchange("GET /ws HTTP/1.1\r\nhost: echo\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n");
    assert.deepEqual(reply, { status: 403, body: "forbidden by policy default:deny\n" });
    assert.equal(upgrades, 0);
  });

  it("logs a refusal with the caller, the target and the policy, a few lines per policy however many requests", async () => {
    const pki = await testPki();
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const app = await httpApp();
    const mesh = await meshFor(app.port, app.close, { defaultPolicy: "DEFAULT_DENY" }, { logger });
    for (let i = 0; i < 8; i++) assert.equal((await get(mesh.clientPort, `/n/${i}?secret=1`, { host: "Echo.Default:80" })).status, 403);
    const refusals = lines.filter((l) => l.msg === "authorization refused");
    assert.equal(refusals.length, 5, "the default limit: 5 lines per policy per 10 s");
    assert.deepEqual(
      { ...refusals[0], time: undefined, level: undefined, pid: undefined, hostname: undefined },
      { time: undefined, level: undefined, pid: undefined, hostname: undefined, component: "authz", msg: "authorization refused", decision: "deny", policy: "default:deny", peer: pki.client.spiffeId, port: app.port, method: "GET", authority: "echo.default", path: "/n/0" },
    );
    assert.equal(await authzCount(mesh.server, { decision: "deny" }), 8, "every decision is counted");
    const suppressed = await mesh.server.metrics.authzLogsSuppressed.get();
    assert.equal(suppressed.values.reduce((n, v) => n + v.value, 0), 3);
  });
});
