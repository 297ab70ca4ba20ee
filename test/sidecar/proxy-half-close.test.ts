// A client that sends everything and then shuts down its write side (socat -t,
// HTTP/1.0 clients, scripts that write a request and close stdin) must still
// get every byte of the answer: the half-close travels through the client
// proxy, mTLS and the server proxy to the app, and the app's reply comes back.
import { strict as assert } from "node:assert";
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { BANNER, startBanner } from "../fixtures/apps/banner.ts";
import { startHttpEcho } from "../fixtures/apps/http-echo.ts";
import { waitFor } from "../support/wait.ts";
import { startMesh } from "./mesh-harness.ts";

/** Echoes every byte, and ends its side only after the client has ended its own and the echo is flushed. */
async function startHalfCloseEcho(): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    socket.on("error", () => {});
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Connects, sends `payload`, half-closes, and collects what comes back until the connection closes. */
function sendThenHalfClose(port: number, payload: Buffer | string): { done: Promise<{ received: Buffer; ended: boolean; error?: Error }>; bytes: () => number } {
  const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  let bytes = 0;
  let ended = false;
  let error: Error | undefined;
  socket.on("data", (c: Buffer) => {
    chunks.push(c);
    bytes += c.length;
  });
  socket.on("end", () => {
    ended = true;
    socket.end();
  });
  socket.on("error", (err) => (error = err));
  socket.end(payload);
  const done = new Promise<{ received: Buffer; ended: boolean; error?: Error }>((resolve) => {
    socket.once("close", () => resolve({ received: Buffer.concat(chunks), ended, ...(error ? { error } : {}) }));
  });
  return { done, bytes: () => bytes };
}

describe("a client's half-close travels through both proxies", function () {
  this.timeout(60_000);
  const stops: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const stop of stops.reverse()) await stop();
    stops.length = 0;
  });

  for (const opaque of [true, false]) {
    it(`echoes all of 20 MB sent before SHUT_WR, then closes (${opaque ? "configured opaque port" : "detected as opaque"})`, async () => {
      const app = await startHalfCloseEcho();
      const mesh = await startMesh({ backends: [{ appPort: app.port }], opaquePorts: opaque ? [80] : [] });
      stops.push(() => void app.server.close(), () => mesh.stop());
      // Starts with bytes no detector takes for HTTP or TLS.
      const payload = Buffer.alloc(20 * 1024 * 1024);
      for (let i = 0; i < payload.length; i += 4096) payload[i] = (i >> 12) & 0xff;
      payload[0] = 0x00;
      const { done } = sendThenHalfClose(mesh.port, payload);
      const result = await done;
      assert.equal(result.error, undefined, `connection failed: ${result.error?.message ?? ""}`);
      assert.equal(result.ended, true, "the connection ended cleanly (FIN), not reset");
      assert.equal(result.received.length, payload.length, "every byte came back");
      assert.ok(result.received.equals(payload), "the bytes came back unchanged");
    });
  }

  it("keeps answering after the client's half-close until the app ends (opaque)", async () => {
    // The app answers only once it has seen the client's end: nothing can be in flight before it.
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on("error", () => {});
      let n = 0;
      socket.on("data", (c: Buffer) => (n += c.length));
      socket.on("end", () => socket.end(`got ${n} bytes\n`));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const mesh = await startMesh({ backends: [{ appPort: (server.address() as AddressInfo).port }], opaquePorts: [80] });
    stops.push(() => void server.close(), () => mesh.stop());
    const result = await sendThenHalfClose(mesh.port, "\x00hello").done;
    assert.equal(result.received.toString(), "got 6 bytes\n");
    assert.equal(result.ended, true);
  });

  it("carries the client's bytes to an app that half-closed first (opaque)", async () => {
    // The app says its piece and ends its side at once; it still reads everything the client sends.
    let received = -1;
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on("error", () => {});
      let n = 0;
      socket.on("data", (c: Buffer) => (n += c.length));
      socket.on("end", () => {
        received = n;
        socket.destroy();
      });
      socket.end("\x00bye\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const mesh = await startMesh({ backends: [{ appPort: (server.address() as AddressInfo).port }], opaquePorts: [80] });
    stops.push(() => void server.close(), () => mesh.stop());
    const socket = net.connect({ host: "127.0.0.1", port: mesh.port, allowHalfOpen: true });
    socket.on("error", () => {});
    let ended = false;
    socket.on("end", () => (ended = true));
    socket.resume();
    await waitFor("the app's end to reach the client", () => ended);
    socket.end(Buffer.alloc(4 * 1024 * 1024, 1));
    await waitFor("the app to count the client's bytes", () => received >= 0);
    assert.equal(received, 4 * 1024 * 1024);
  });

  it("still delivers a server-speaks-first app's banner to a client that half-closed without sending", async () => {
    const app = await startBanner();
    const mesh = await startMesh({ backends: [{ appPort: app.port }] });
    stops.push(() => void app.server.close(), () => mesh.stop());
    const result = await sendThenHalfClose(mesh.port, "").done;
    assert.equal(result.received.toString(), BANNER);
    assert.equal(result.ended, true);
  });

  describe("HTTP/1.x", () => {
    it("answers an HTTP/1.1 request whose client half-closed right after sending it", async () => {
      const app = await startHttpEcho();
      const mesh = await startMesh({ backends: [{ appPort: app.port }] });
      stops.push(() => void app.server.close(), () => mesh.stop());
      // /slow: the answer is still pending when the client's FIN reaches each hop.
      const result = await sendThenHalfClose(mesh.port, "GET /slow/200 HTTP/1.1\r\nHost: x\r\n\r\n").done;
      const text = result.received.toString("latin1");
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.match(text, /"url":"\/slow\/200"/);
      assert.equal(result.ended, true);
    });

    it("answers an HTTP/1.1 request with a body whose client half-closed after the body", async () => {
      const app = await startHttpEcho();
      const mesh = await startMesh({ backends: [{ appPort: app.port }] });
      stops.push(() => void app.server.close(), () => mesh.stop());
      const result = await sendThenHalfClose(mesh.port, "POST /p HTTP/1.1\r\nHost: x\r\ncontent-length: 5\r\n\r\nhello").done;
      const text = result.received.toString("latin1");
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.match(text, /"bodyBytes":5/);
    });

    it("answers an HTTP/1.0 request whose client half-closed right after sending it", async () => {
      const app = await startHttpEcho();
      const mesh = await startMesh({ backends: [{ appPort: app.port }] });
      stops.push(() => void app.server.close(), () => mesh.stop());
      const result = await sendThenHalfClose(mesh.port, "GET /slow/200 HTTP/1.0\r\nHost: x\r\n\r\n").done;
      const text = result.received.toString("latin1");
      assert.match(text, /^HTTP\/1\.[01] 200 /);
      assert.match(text, /"url":"\/slow\/200"/);
      assert.equal(result.ended, true);
    });

    it("passes the app's Connection: close to the client and closes the connection after that response", async () => {
      const server = http.createServer((req, res) => {
        req.resume();
        req.on("end", () => {
          res.writeHead(200, { connection: "close", "content-length": "2" });
          res.end("ok");
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const mesh = await startMesh({ backends: [{ appPort: (server.address() as AddressInfo).port }] });
      stops.push(() => void server.close(), () => mesh.stop());
      const socket = net.connect(mesh.port, "127.0.0.1");
      let received = "";
      let closed = false;
      socket.on("data", (c: Buffer) => (received += c.toString("latin1")));
      socket.on("error", () => {});
      socket.on("close", () => (closed = true));
      // Keep-alive on the client's side: only the app's word can close this connection.
      socket.write("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
      await waitFor("the connection to close after the app's Connection: close response", () => closed);
      assert.match(received, /^HTTP\/1\.1 200 /);
      assert.match(received, /\r\nconnection: close\r\n/i);
      assert.match(received, /\r\n\r\nok$/);
    });
  });
});
