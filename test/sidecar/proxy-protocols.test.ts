import { strict as assert } from "node:assert";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as grpc from "@grpc/grpc-js";
import WebSocket from "ws";
import { startH2Echo } from "../fixtures/apps/h2-echo.ts";
import { EchoClient, startGrpcEcho, type GrpcEcho } from "../fixtures/apps/grpc-echo.ts";
import { startWsEcho } from "../fixtures/apps/ws-echo.ts";
import { BANNER, startBanner } from "../fixtures/apps/banner.ts";
import { waitFor } from "../support/wait.ts";
import { startMesh, testPki, type Mesh } from "./mesh-harness.ts";

type Client = grpc.Client & {
  unary(req: Buffer, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): grpc.ClientUnaryCall;
  serverStream(req: Buffer): grpc.ClientReadableStream<Buffer>;
  bidi(): grpc.ClientDuplexStream<Buffer, Buffer>;
};

describe("HTTP/2, gRPC, WebSocket and opaque TCP through a pair of proxies", function () {
  this.timeout(30_000);
  const stops: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  it("carries HTTP/2 requests with bodies and trailers", async () => {
    const app = await startH2Echo();
    const mesh = await startMesh({ backends: [{ appPort: app.port }] });
    stops.push(() => void app.server.close(), () => mesh.stop());
    const session = http2.connect(`http://127.0.0.1:${mesh.port}`);
    const stream = session.request({ ":method": "POST", ":path": "/h2" });
    stream.end(Buffer.alloc(100_000, 1));
    let body = "";
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on("data", (c: Buffer) => (body += c.toString()));
    stream.on("trailers", (t) => (trailers = t));
    await new Promise((resolve) => stream.on("end", resolve));
    session.close();
    const parsed = JSON.parse(body) as { path: string; bodyBytes: number; clientId: string };
    assert.equal(parsed.path, "/h2");
    assert.equal(parsed.bodyBytes, 100_000);
    assert.equal(parsed.clientId, (await testPki()).client.spiffeId);
    assert.equal(trailers["x-trailer"], "done");
  });

  describe("gRPC (grpc-js client and server)", () => {
    let app: GrpcEcho;
    let mesh: Mesh;
    let client: Client;
    before(async () => {
      app = await startGrpcEcho();
      mesh = await startMesh({ backends: [{ appPort: app.port }] });
      client = new EchoClient(`127.0.0.1:${mesh.port}`, grpc.credentials.createInsecure()) as unknown as Client;
      stops.push(() => app.server.forceShutdown(), () => mesh.stop(), () => client.close());
    });

    it("makes unary calls and gets trailers", async () => {
      const trailer = await new Promise<string>((resolve, reject) => {
        const call = client.unary(Buffer.from("hi"), new grpc.Metadata(), (err, res) => {
          if (err) reject(err);
          else assert.match(res?.toString() ?? "", /^hi from spiffe:\/\/cluster.local\/ns\/default\/sa\/client$/);
        });
        call.on("status", (s: grpc.StatusObject) => resolve(String(s.metadata.get("x-trailer")[0])));
      });
      assert.equal(trailer, "done");
    });

    it("streams from the server and both ways", async () => {
      const got: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const call = client.serverStream(Buffer.from("5"));
        call.on("data", (m: Buffer) => got.push(m.toString()));
        call.on("end", () => resolve());
        call.on("error", reject);
      });
      assert.deepEqual(got, ["msg 0", "msg 1", "msg 2", "msg 3", "msg 4"]);
      const echoed: string[] = [];
      const bidi = client.bidi();
      bidi.on("data", (m: Buffer) => {
        echoed.push(m.toString());
        if (echoed.length < 3) bidi.write(Buffer.from(`ping ${echoed.length}`));
        else bidi.end();
      });
      bidi.write(Buffer.from("ping 0"));
      await new Promise<void>((resolve, reject) => {
        bidi.on("status", () => resolve());
        bidi.on("error", reject);
      });
      assert.deepEqual(echoed, ["ping 0", "ping 1", "ping 2"]);
    });

    it("retries a call that fails with UNAVAILABLE", async () => {
      app.failUnary = 1;
      const res = await new Promise<Buffer | undefined>((resolve, reject) => client.unary(Buffer.from("again"), new grpc.Metadata(), (err, r) => (err ? reject(err) : resolve(r))));
      assert.match(res?.toString() ?? "", /^again/);
    });
  });

  it("carries a WebSocket (ws package) upgrade and messages both ways", async () => {
    const app = await startWsEcho();
    const mesh = await startMesh({ backends: [{ appPort: app.port }] });
    stops.push(() => void app.server.close(), () => mesh.stop());
    const ws = new WebSocket(`ws://127.0.0.1:${mesh.port}/chat`);
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const replies: string[] = [];
    for (const text of ["one", "two", "x".repeat(200_000)]) {
      ws.send(text);
      replies.push(await new Promise<string>((resolve) => ws.once("message", (d) => resolve(String(d)))));
    }
    ws.close();
    assert.deepEqual(replies.map((r) => r.length), [3, 3, 200_000]);
  });

  for (const opaque of [false, true]) {
    it(`serves a server-speaks-first protocol without stalling (${opaque ? "configured opaque port" : "detection gives up"})`, async () => {
      const app = await startBanner();
      const mesh = await startMesh({ backends: [{ appPort: app.port }], opaquePorts: opaque ? [80] : [] });
      stops.push(() => void app.server.close(), () => mesh.stop());
      const socket = net.connect(mesh.port, "127.0.0.1");
      let received = "";
      socket.on("data", (c: Buffer) => (received += c.toString()));
      const started = Date.now();
      await waitFor("the app's banner through the mesh", () => received.includes(BANNER), { intervalMs: 10 });
      const elapsed = Date.now() - started;
      socket.write("hello\r\n");
      await waitFor("the app's echo of the client's line", () => received.includes("echo: hello"), { intervalMs: 10 });
      socket.destroy();
      assert.ok(elapsed < 3_000, `banner took ${elapsed} ms`);
    });
  }
});
