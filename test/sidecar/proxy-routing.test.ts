// Routes (GAMMA) through real proxies: a client proxy whose snapshot routes
// calls to default/echo, and one app per backend Service behind its own
// server proxy, real mTLS between them.
import { strict as assert } from "node:assert";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { ServiceRoutes } from "../../api/gen/weft/discovery/v1/ServiceRoutes.ts";
import { EchoClient, startGrpcEcho, type GrpcEcho } from "../fixtures/apps/grpc-echo.ts";
import { startRoutedMesh, type RoutedMesh } from "./routing-harness.ts";

interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

interface App {
  name: string;
  port: number;
  seen: Seen[];
  server: http.Server;
}

/** Answers its name; "/slow" after 500 ms. Every request it sees is kept. */
async function startApp(name: string): Promise<App> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers });
    req.resume();
    const answer = (): void => {
      res.setHeader("x-app", name);
      res.setHeader("server", "app");
      res.end(name);
    };
    if (req.url?.startsWith("/slow")) setTimeout(answer, 500);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { name, port: (server.address() as AddressInfo).port, seen, server };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, agent, headers: { host: "echo.default", ...headers } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

const split = (v1: number, v2: number): ServiceRoutes => ({
  service: "default/echo",
  rules: [{ route: "default/canary", kind: "HTTPRoute", backends: [{ service: "default/v1", weight: v1 }, { service: "default/v2", weight: v2 }] }],
  matches: [{ rule: 0, path: { type: "PREFIX", value: "/" } }],
});

describe("proxy: routes (GAMMA) through real proxies", function () {
  this.timeout(30_000);
  let apps: App[];
  let mesh: RoutedMesh;
  const byName = (name: string): App => apps.find((a) => a.name === name) as App;

  before(async () => {
    apps = [await startApp("v1"), await startApp("v2"), await startApp("mirror")];
    mesh = await startRoutedMesh(apps.map((a) => [a.name, a.port]), []);
  });
  after(async () => {
    await mesh.stop();
    agent.destroy();
    for (const a of apps) a.server.close();
  });
  beforeEach(() => {
    for (const a of apps) a.seen.length = 0;
  });

  it("without routes, calls go to the Service's own endpoints and the route label is empty", async () => {
    mesh.setRoutes([]);
    const r = await get(mesh.port, "/plain");
    assert.equal(r.body, "v1");
    const metrics = await mesh.client.metrics.registry.metrics();
    assert.match(metrics, /weft_proxy_requests_total\{direction="outbound",peer_service="default\/echo",status_class="2xx",grpc_status="",route="",/);
  });

  it("splits 90/10 over 1,000 requests within 3 %, then moves to 0/100 under traffic with no failed request", async () => {
    mesh.setRoutes([split(90, 10)]);
    const counts = new Map<string, number>();
    const run = async (n: number, concurrency: number): Promise<void> => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < n) {
            next += 1;
            const r = await get(mesh.port, "/split");
            assert.equal(r.status, 200);
            counts.set(r.body, (counts.get(r.body) ?? 0) + 1);
          }
        }),
      );
    };
    await run(1_000, 8);
    const v2 = (counts.get("v2") ?? 0) / 1_000;
    assert.ok(Math.abs(v2 - 0.1) <= 0.03, `v2 got ${v2 * 100} %`);
    assert.equal((counts.get("v1") ?? 0) + (counts.get("v2") ?? 0), 1_000);
    // The move: traffic runs while the split changes; every request still succeeds (run asserts 200).
    counts.clear();
    const traffic = run(600, 8);
    await new Promise((r) => setTimeout(r, 50));
    mesh.setRoutes([split(0, 100)]);
    await traffic;
    counts.clear();
    await run(200, 8);
    assert.deepEqual([...counts], [["v2", 200]]);
    const metrics = await mesh.client.metrics.registry.metrics();
    assert.match(metrics, /peer_service="default\/v2",status_class="2xx",grpc_status="",route="default\/canary"/);
  });

  it("routes on a header, first match first; nothing matching is a 404", async () => {
    mesh.setRoutes([
      {
        service: "default/echo",
        rules: [
          { route: "default/by-header", kind: "HTTPRoute", backends: [{ service: "default/v2", weight: 1 }] },
          { route: "default/by-header", kind: "HTTPRoute", backends: [{ service: "default/v1", weight: 1 }] },
        ],
        matches: [
          { rule: 0, path: { type: "PREFIX", value: "/api" }, headers: [{ name: "x-canary", value: "yes" }] },
          { rule: 1, path: { type: "PREFIX", value: "/api" } },
        ],
      },
    ]);
    assert.equal((await get(mesh.port, "/api/x", { "x-canary": "yes" })).body, "v2");
    assert.equal((await get(mesh.port, "/api/x", { "x-canary": "no" })).body, "v1");
    assert.equal((await get(mesh.port, "/api")).body, "v1");
    const none = await get(mesh.port, "/apix");
    assert.equal(none.status, 404);
    assert.equal(none.headers["weft-error"], "no-route-match");
  });

  it("redirects: the proxy answers with the Location the filter builds", async () => {
    mesh.setRoutes([
      {
        service: "default/echo",
        rules: [{ route: "default/moved", kind: "HTTPRoute", filters: [{ requestRedirect: { hostname: "new.example", path: { type: "REPLACE_PREFIX_MATCH", value: "/v2" }, statusCode: 301 } }] }],
        matches: [{ rule: 0, path: { type: "PREFIX", value: "/v1" } }],
      },
    ]);
    const r = await get(mesh.port, "/v1/items?x=1");
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, "http://new.example/v2/items?x=1");
    assert.equal(apps.reduce((n, a) => n + a.seen.length, 0), 0, "no app saw the request");
  });

  it("rewrites path and host, modifies request and response headers", async () => {
    mesh.setRoutes([
      {
        service: "default/echo",
        rules: [
          {
            route: "default/rewrite",
            kind: "HTTPRoute",
            backends: [{ service: "default/v2", weight: 1 }],
            filters: [
              { urlRewrite: { hostname: "v2.internal", path: { type: "REPLACE_PREFIX_MATCH", value: "/new" } } },
              { requestHeaderModifier: { set: [{ name: "x-route", value: "rewrite" }], remove: ["x-drop"] } },
              { responseHeaderModifier: { add: [{ name: "x-via", value: "weft" }], remove: ["server"] } },
            ],
          },
        ],
        matches: [{ rule: 0, path: { type: "PREFIX", value: "/old" } }],
      },
    ]);
    const r = await get(mesh.port, "/old/thing?q=1", { "x-drop": "1", "x-route": "client" });
    assert.equal(r.body, "v2");
    assert.equal(r.headers["x-via"], "weft");
    assert.equal(r.headers.server, undefined);
    const seen = byName("v2").seen[0];
    assert.equal(seen?.path, "/new/thing?q=1");
    assert.equal(seen?.headers.host, "v2.internal");
    assert.equal(seen?.headers["x-route"], "rewrite");
    assert.equal(seen?.headers["x-drop"], undefined);
  });

  it("mirrors: the mirror backend sees a copy, the client only the main answer", async () => {
    mesh.setRoutes([
      {
        service: "default/echo",
        rules: [{ route: "default/mirrored", kind: "HTTPRoute", backends: [{ service: "default/v1", weight: 1 }], filters: [{ requestMirror: { service: "default/mirror", percent: 100 } }] }],
        matches: [{ rule: 0 }],
      },
    ]);
    const r = await get(mesh.port, "/copied", { "x-id": "42" });
    assert.equal(r.body, "v1");
    const deadline = Date.now() + 2_000;
    while (byName("mirror").seen.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    assert.equal(byName("mirror").seen[0]?.path, "/copied");
    assert.equal(byName("mirror").seen[0]?.headers["x-id"], "42");
    assert.equal(byName("v1").seen.length, 1);
  });

  it("a mirror that cannot be reached never fails or delays the request", async () => {
    mesh.setRoutes([
      {
        service: "default/echo",
        rules: [{ route: "default/mirrored", kind: "HTTPRoute", backends: [{ service: "default/v1", weight: 1 }], filters: [{ requestMirror: { service: "default/missing", percent: 100 } }] }],
        matches: [{ rule: 0 }],
      },
    ]);
    assert.equal((await get(mesh.port, "/x")).body, "v1");
  });

  it("a route's request timeout answers 504 when the backend is slower, and other paths are not cut", async () => {
    mesh.setRoutes([
      {
        service: "default/echo",
        rules: [
          { route: "default/timed", kind: "HTTPRoute", backends: [{ service: "default/v1", weight: 1 }], requestTimeoutMs: 100 },
          { route: "default/timed", kind: "HTTPRoute", backends: [{ service: "default/v1", weight: 1 }] },
        ],
        matches: [{ rule: 0, path: { type: "PREFIX", value: "/slow" } }, { rule: 1, path: { type: "PREFIX", value: "/" } }],
      },
    ]);
    const started = performance.now();
    const r = await get(mesh.port, "/slow");
    const took = performance.now() - started;
    assert.equal(r.status, 504);
    assert.ok(took < 450, `took ${took} ms`);
    assert.equal((await get(mesh.port, "/fast")).status, 200);
  });

  it("a route's backendRequest timeout gives up each attempt, and the rule's retry tries again", async () => {
    mesh.setRoutes([
      {
        service: "default/echo",
        rules: [{ route: "default/per-try", kind: "HTTPRoute", backends: [{ service: "default/v1", weight: 1 }], backendRequestTimeoutMs: 100, retry: { attempts: 1, backoffMs: 1 } }],
        matches: [{ rule: 0 }],
      },
    ]);
    const started = performance.now();
    const r = await get(mesh.port, "/slow");
    const took = performance.now() - started;
    assert.equal(r.status, 504);
    assert.equal(r.headers["weft-error"], "attempt-timeout");
    assert.ok(took >= 190 && took < 450, `took ${took} ms`);
    assert.equal(byName("v1").seen.length, 2, "the first attempt and one retry");
  });

  it("a backend share that cannot be called is a 500; all-zero weights are a 500", async () => {
    mesh.setRoutes([
      {
        service: "default/echo",
        rules: [
          { route: "default/broken", kind: "HTTPRoute", backends: [{ service: "default/nowhere", weight: 1 }] },
          { route: "default/broken", kind: "HTTPRoute", backends: [{ service: "default/v1", weight: 0 }] },
        ],
        matches: [{ rule: 0, path: { type: "PREFIX", value: "/missing" } }, { rule: 1 }],
      },
    ]);
    assert.equal((await get(mesh.port, "/missing")).status, 500);
    assert.equal((await get(mesh.port, "/zero")).status, 500);
  });
});

describe("proxy: GRPCRoute method routing with a real grpc-js client", function () {
  this.timeout(30_000);
  let v1: GrpcEcho;
  let v2: GrpcEcho;
  let mesh: RoutedMesh;
  type Client = grpc.Client & { unary(req: Buffer, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): grpc.ClientUnaryCall; serverStream(req: Buffer): grpc.ClientReadableStream<Buffer> };
  let client: Client;

  before(async () => {
    v1 = await startGrpcEcho();
    v2 = await startGrpcEcho();
    mesh = await startRoutedMesh([["grpc-v1", v1.port], ["grpc-v2", v2.port]], [
      {
        service: "default/echo",
        rules: [
          { route: "default/grpc", kind: "GRPCRoute", backends: [{ service: "default/grpc-v2", weight: 1 }] },
          { route: "default/grpc", kind: "GRPCRoute", backends: [{ service: "default/grpc-v1", weight: 1 }] },
        ],
        matches: [{ rule: 0, grpc: { service: "weft.test.Echo", method: "Unary" } }, { rule: 1, grpc: { service: "weft.test.Echo", method: "ServerStream" } }],
      },
    ], "grpc");
    client = new EchoClient(`127.0.0.1:${mesh.port}`, grpc.credentials.createInsecure()) as unknown as Client;
  });
  after(async () => {
    client.close();
    await mesh.stop();
    v1.server.forceShutdown();
    v2.server.forceShutdown();
  });

  it("sends Unary to v2, ServerStream to v1, and answers an unrouted method UNIMPLEMENTED", async () => {
    const reply = await new Promise<Buffer | undefined>((resolve, reject) => client.unary(Buffer.from("hi"), new grpc.Metadata(), (err, r) => (err ? reject(err) : resolve(r))));
    assert.match(String(reply), /^hi/);
    assert.deepEqual([v1.calls, v2.calls], [0, 1]);
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = client.serverStream(Buffer.from("2"));
      stream.on("data", (m: Buffer) => messages.push(String(m)));
      stream.on("end", resolve);
      stream.on("error", reject);
    });
    assert.deepEqual(messages, ["msg 0", "msg 1"]);
    const bidi = (client as unknown as { bidi(): grpc.ClientDuplexStream<Buffer, Buffer> }).bidi();
    const code = await new Promise<number>((resolve) => {
      bidi.on("error", (e: grpc.ServiceError) => resolve(e.code));
      bidi.on("data", () => {});
      bidi.end();
    });
    assert.equal(code, grpc.status.UNIMPLEMENTED);
  });
});
