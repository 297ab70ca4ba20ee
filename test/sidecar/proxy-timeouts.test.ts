import { strict as assert } from "node:assert";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { effectivePolicy } from "../../sidecar/src/discovery/client-policy.ts";
import type { ClientPolicy } from "../../api/gen/weft/discovery/v1/ClientPolicy.ts";
import { startMesh, type Mesh } from "./mesh-harness.ts";

/**
 * `/drip/<n>/<ms>`: a 200 whose body is n bytes, one every ms; `/stall`: one
 * byte, then silence; `/slow/<ms>`: the head after ms; a POST is answered with
 * the length of its body once the body has ended.
 */
async function startTimingApp(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const [, kind, a, b] = (req.url ?? "").split("/");
    if (req.method === "POST") {
      let length = 0;
      req.on("data", (c: Buffer) => (length += c.length));
      req.on("end", () => res.end(String(length)));
      return;
    }
    if (kind === "drip") {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      let left = Number(a);
      const timer = setInterval(() => {
        res.write("x");
        if (--left === 0) {
          clearInterval(timer);
          res.end();
        }
      }, Number(b));
      res.on("close", () => clearInterval(timer));
      return;
    }
    if (kind === "stall") {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.write("x");
      return;
    }
    if (kind === "slow") {
      const timer = setTimeout(() => res.end("late"), Number(a));
      res.on("close", () => clearTimeout(timer));
      return;
    }
    res.end("ok");
  });
  server.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  return server;
}

interface Got {
  status: number;
  body: string;
  /** The body arrived whole (false: broken off). */
  complete: boolean;
  weftError: string | undefined;
}

function request(port: number, path: string, upload?: { chunks: number; everyMs: number }): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method: upload ? "POST" : "GET", agent: false }, (res) => {
      let body = "";
      res.setEncoding("latin1");
      res.on("data", (c: string) => (body += c));
      const done = (complete: boolean) => resolve({ status: res.statusCode ?? 0, body, complete, weftError: res.headers["weft-error"] as string | undefined });
      res.on("end", () => done(res.complete));
      res.on("error", () => done(false));
    });
    req.on("error", reject);
    if (!upload) {
      req.end();
      return;
    }
    let sent = 0;
    const timer = setInterval(() => {
      req.write("u");
      if (++sent === upload.chunks) {
        clearInterval(timer);
        req.end();
      }
    }, upload.everyMs);
  });
}

// A Health/Watch-shaped call: one request, then a message every `everyMs`, `count` times.
const raw = { serialize: (b: Buffer): Buffer => b, deserialize: (b: Buffer): Buffer => b };
const WATCH_SERVICE: grpc.ServiceDefinition = {
  watch: { path: "/grpc.health.v1.Health/Watch", requestStream: false, responseStream: true, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
};
const WatchClient = grpc.makeGenericClientConstructor(WATCH_SERVICE, "Health");
type Watcher = grpc.Client & { watch(req: Buffer): grpc.ClientReadableStream<Buffer> };

async function startWatchServer(count: number, everyMs: number): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(WATCH_SERVICE, {
    watch: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      // grpc-js sends the response head with the first message; the proxy's response timeout ends there.
      let sent = 0;
      call.write(Buffer.from("SERVING"));
      const timer = setInterval(() => {
        call.write(Buffer.from("SERVING"));
        if (++sent === count - 1) {
          clearInterval(timer);
          call.end();
        }
      }, everyMs);
      call.on("cancelled", () => clearInterval(timer));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}

describe("proxy timeouts: healthy streams are not cut", function () {
  this.timeout(30_000);
  let app: http.Server;
  let appPort: number;
  const meshes: Mesh[] = [];

  async function mesh(clientPolicy?: ClientPolicy, port = appPort): Promise<Mesh> {
    const m = await startMesh({ backends: [{ appPort: port }], clientPolicy });
    meshes.push(m);
    return m;
  }

  before(async () => {
    app = await startTimingApp();
    appPort = (app.address() as AddressInfo).port;
  });
  afterEach(async () => {
    await Promise.all(meshes.splice(0).map((m) => m.stop()));
  });
  after(() => {
    app.closeAllConnections();
    app.close();
  });

  it("relays a body that streams for longer than the response timeout, whole", async () => {
    const m = await mesh({ responseTimeoutMs: 300 });
    const got = await request(m.port, "/drip/15/100");
    assert.deepEqual([got.status, got.body.length, got.complete], [200, 15, true]);
  });

  it("still answers 504 timeout when the response head is later than the response timeout", async () => {
    const m = await mesh({ responseTimeoutMs: 300 });
    const got = await request(m.port, "/slow/5000");
    assert.deepEqual([got.status, got.weftError], [504, "timeout"]);
  });

  it("keeps the deprecated request timeout working as the response timeout", async () => {
    const m = await mesh({ requestTimeoutMs: 300 });
    assert.equal((await request(m.port, "/slow/5000")).status, 504);
    assert.equal((await request(m.port, "/drip/10/100")).complete, true);
  });

  it("accepts a slow upload that takes longer than the response timeout", async () => {
    const m = await mesh({ responseTimeoutMs: 300 });
    const got = await request(m.port, "/upload", { chunks: 12, everyMs: 100 });
    assert.deepEqual([got.status, got.body], [200, "12"]);
  });

  it("breaks off a body that stalls for longer than the idle timeout", async () => {
    const m = await mesh({ idleTimeoutMs: 300 });
    const started = Date.now();
    const got = await request(m.port, "/stall");
    assert.deepEqual([got.status, got.body, got.complete], [200, "x", false]);
    assert.ok(Date.now() - started >= 300, "not before the idle timeout");
  });

  it("does not cut a body whose bytes keep coming more often than the idle timeout", async () => {
    const m = await mesh({ idleTimeoutMs: 300 });
    const got = await request(m.port, "/drip/15/100");
    assert.deepEqual([got.body.length, got.complete], [15, true]);
  });

  it("cuts a flowing body at the total timeout when one is set", async () => {
    const m = await mesh({ totalTimeoutMs: 600 });
    const got = await request(m.port, "/drip/30/100");
    assert.equal(got.complete, false);
    assert.ok(got.body.length > 0 && got.body.length < 30, `cut mid-body (${got.body.length} bytes)`);
  });

  it("never cuts a gRPC Health/Watch-style stream that sends a message every few hundred ms", async () => {
    const watch = await startWatchServer(8, 200);
    const m = await mesh({ responseTimeoutMs: 300, idleTimeoutMs: 500 }, watch.port);
    const client = new WatchClient(`127.0.0.1:${m.port}`, grpc.credentials.createInsecure()) as unknown as Watcher;
    try {
      const call = client.watch(Buffer.from(""));
      let messages = 0;
      call.on("data", () => messages++);
      const status = await new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
      assert.deepEqual([status.code, messages], [grpc.status.OK, 8]);
    } finally {
      client.close();
      watch.server.forceShutdown();
    }
  });
});

describe("client policy timeouts: 0 is off, unset takes the defaults", () => {
  it("takes a Service's 0 as off, where an absent field falls back to the proxy's defaults", () => {
    const defaults = { retry: null, requestTimeoutMs: 0, connectTimeoutMs: 0, responseTimeoutMs: 5_000, idleTimeoutMs: 60_000, totalTimeoutMs: 90_000 };
    const off = effectivePolicy(defaults, { retry: null, requestTimeoutMs: 0, connectTimeoutMs: 0, responseTimeoutMs: 0, idleTimeoutMs: 0, totalTimeoutMs: 0 });
    assert.deepEqual([off.responseTimeoutMs, off.idleTimeoutMs, off.totalTimeoutMs], [0, 0, 0]);
    const unset = effectivePolicy(defaults, { retry: null, requestTimeoutMs: 0, connectTimeoutMs: 0 });
    assert.deepEqual([unset.responseTimeoutMs, unset.idleTimeoutMs, unset.totalTimeoutMs], [5_000, 60_000, 90_000]);
  });

  it("reads the deprecated request timeout as the response timeout, unless the response timeout is set", () => {
    assert.equal(effectivePolicy(null, { retry: null, requestTimeoutMs: 700, connectTimeoutMs: 0 }).responseTimeoutMs, 700);
    assert.equal(effectivePolicy(null, { retry: null, requestTimeoutMs: 700, connectTimeoutMs: 0, responseTimeoutMs: 0 }).responseTimeoutMs, 0);
  });

  it("defaults to a 10 s response timeout, a 1 h idle timeout and no total timeout", () => {
    const p = effectivePolicy(null, null);
    assert.deepEqual([p.responseTimeoutMs, p.idleTimeoutMs, p.totalTimeoutMs], [10_000, 3_600_000, 0]);
  });
});
