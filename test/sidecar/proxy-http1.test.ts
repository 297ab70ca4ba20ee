import { strict as assert } from "node:assert";
import * as http from "node:http";
import { startHttpEcho, type EchoApp } from "../fixtures/apps/http-echo.ts";
import { startMesh, testPki, type Mesh } from "./mesh-harness.ts";

function request(port: number, options: http.RequestOptions & { body?: Buffer | string; agent?: http.Agent }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("HTTP/1.1 through a pair of proxies", function () {
  this.timeout(30_000);
  let app: EchoApp;
  let mesh: Mesh;

  before(async () => {
    app = await startHttpEcho();
    mesh = await startMesh({ backends: [{ appPort: app.port }] });
  });
  after(async () => {
    await mesh.stop();
    app.server.close();
  });

  it("forwards a GET over mTLS and tells the app the caller's SPIFFE id", async () => {
    const res = await request(mesh.port, { path: "/hello?x=1", headers: { host: "echo.default" } });
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body.toString()) as { url: string; headers: Record<string, string> };
    assert.equal(body.url, "/hello?x=1");
    assert.equal(body.headers["weft-client-id"], (await testPki()).client.spiffeId);
    assert.equal(body.headers.host, "echo.default");
  });

  it("reuses one keep-alive connection for many requests", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 20; i++) assert.equal((await request(mesh.port, { path: `/n/${i}`, agent })).status, 200);
    agent.destroy();
  });

  it("streams a chunked request body and a large response", async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    const res = await request(mesh.port, { method: "POST", path: "/upload", headers: { "transfer-encoding": "chunked" }, body });
    const echoed = JSON.parse(res.body.toString()) as { bodyBytes: number };
    assert.equal(echoed.bodyBytes, body.length);
    const big = await request(mesh.port, { path: `/big/${8 * 1024 * 1024}` });
    assert.equal(big.body.length, 8 * 1024 * 1024);
  });

  it("answers Expect: 100-continue and delivers the body", async () => {
    const result = await new Promise<{ continued: boolean; status: number }>((resolve, reject) => {
      let continued = false;
      const req = http.request({ host: "127.0.0.1", port: mesh.port, method: "PUT", path: "/put", headers: { expect: "100-continue", "content-length": "5" } });
      req.on("continue", () => {
        continued = true;
        req.end("hello");
      });
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => resolve({ continued, status: res.statusCode ?? 0 }));
      });
      req.on("error", reject);
    });
    assert.deepEqual(result, { continued: true, status: 200 });
  });

  it("passes the app's status codes through unchanged", async () => {
    assert.equal((await request(mesh.port, { path: "/status/404" })).status, 404);
    assert.equal((await request(mesh.port, { method: "POST", path: "/status/500", body: "x" })).status, 500);
  });
});
