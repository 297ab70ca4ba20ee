import { strict as assert } from "node:assert";
import * as net from "node:net";
import { startHttpEcho, type EchoApp } from "../fixtures/apps/http-echo.ts";
import { startMesh, type Mesh } from "./mesh-harness.ts";

/** Writes `wire` on a raw connection and collects what comes back until the proxy closes or `until` matches. */
function exchange(port: number, wire: string | Buffer[], until?: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(text);
    }, 5_000);
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      text += d;
      if (until?.(text)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text);
      }
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on("error", reject);
    if (typeof wire === "string") socket.write(wire);
    else {
      // Pieces a few milliseconds apart: the head arrives whole, the body trickles.
      let i = 0;
      const next = (): void => {
        if (i < wire.length) socket.write(wire[i++] as Buffer, () => setTimeout(next, 5));
      };
      next();
    }
  });
}

const count = (text: string, what: string): number => text.split(what).length - 1;

describe("HTTP/1.1 through the proxy's own framer (and its hand-over to node:http)", function () {
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

  it("answers pipelined requests in order on one connection", async () => {
    const wire = ["/a", "/b", "/c"].map((p) => `GET ${p} HTTP/1.1\r\nhost: echo\r\n\r\n`).join("");
    const text = await exchange(mesh.port, wire, (t) => count(t, '"url":') === 3);
    assert.equal(count(text, "HTTP/1.1 200"), 3);
    assert.ok(text.indexOf('"url":"/a"') < text.indexOf('"url":"/b"') && text.indexOf('"url":"/b"') < text.indexOf('"url":"/c"'));
  });

  it("closes after a response when the client sent Connection: close", async () => {
    const text = await exchange(mesh.port, "GET /x HTTP/1.1\r\nhost: echo\r\nconnection: close\r\n\r\n");
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.match(text, /connection: close/i);
    assert.match(text, /"url":"\/x"/);
  });

  it("serves HTTP/1.0 through node:http", async () => {
    const text = await exchange(mesh.port, "GET /old HTTP/1.0\r\nhost: echo\r\n\r\n");
    assert.match(text, /^HTTP\/1\.[01] 200/);
    assert.match(text, /"url":"\/old"/);
  });

  it("delivers a body sent in pieces, by length and chunked, then serves the next request", async () => {
    const body = "x".repeat(3000);
    const byLength = [Buffer.from(`POST /len HTTP/1.1\r\nhost: echo\r\ncontent-length: ${body.length}\r\n\r\n`), Buffer.from(body.slice(0, 1000)), Buffer.from(body.slice(1000))];
    const chunked = [Buffer.from("POST /chunked HTTP/1.1\r\nhost: echo\r\ntransfer-encoding: chunked\r\n\r\n"), Buffer.from("5;ext=1\r\nhello\r\n"), Buffer.from("6\r\n world\r\n0\r\nx-t: 1\r\n\r\n")];
    const after = [Buffer.from("GET /after HTTP/1.1\r\nhost: echo\r\n\r\n")];
    const text = await exchange(mesh.port, [...byLength, ...chunked, ...after], (t) => t.includes('"url":"/after"'));
    assert.match(text, /"url":"\/len"[^]*"bodyBytes":3000/);
    assert.match(text, /"url":"\/chunked"[^]*"bodyBytes":11/);
    assert.equal(count(text, "HTTP/1.1 200"), 3);
  });

  it("relays a HEAD response without a body and keeps the connection", async () => {
    const text = await exchange(mesh.port, "HEAD /h HTTP/1.1\r\nhost: echo\r\n\r\nGET /next HTTP/1.1\r\nhost: echo\r\n\r\n", (t) => t.includes('"url":"/next"'));
    assert.equal(count(text, "HTTP/1.1 200"), 2);
    assert.ok(!text.includes('"url":"/h"'));
  });

  it("carries a request head near the 16 KB limit through both proxies", async () => {
    const big = "v".repeat(16_000);
    const text = await exchange(mesh.port, `GET /big-head HTTP/1.1\r\nhost: echo\r\nx-big: ${big}\r\n\r\n`, (t) => t.includes('"url":"/big-head"'));
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.ok(text.includes(big), "the app saw the whole header");
  });

  it("refuses request smuggling (Content-Length with Transfer-Encoding) with 400", async () => {
    const text = await exchange(mesh.port, "POST /s HTTP/1.1\r\nhost: echo\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: echo\r\n\r\n");
    assert.match(text, /^HTTP\/1\.1 400/);
    assert.ok(!text.includes("/smuggled"));
  });
});

describe("HTTP/1.1 framer: a response sent before the request body is finished", function () {
  this.timeout(30_000);
  let mesh: Mesh;

  before(async () => {
    // A Service without endpoints: the proxy answers 503 itself, at once, before reading the upload.
    mesh = await startMesh({ backends: [] });
  });
  after(() => mesh.stop());

  it("never parses the rest of that body as a new request (nothing smuggled in an unread body)", async () => {
    const smuggled = "GET /smuggled HTTP/1.1\r\nhost: echo\r\n\r\n";
    const text = await exchange(mesh.port, `POST /upload HTTP/1.1\r\nhost: echo\r\ncontent-length: ${smuggled.length + 100}\r\n\r\n${smuggled}`);
    assert.match(text, /^HTTP\/1\.1 503/);
    assert.equal(count(text, "HTTP/1.1 "), 1, "one response");
    const requests = (await mesh.client.metrics.requests.get()).values.reduce((sum, v) => sum + v.value, 0);
    assert.equal(requests, 1, "the body's bytes were not taken for a second request");
  });
});

describe("HTTP/1.1 to the app: a kept-alive connection the app drops", function () {
  this.timeout(30_000);
  // Answers the first request on each connection, then drops the connection when the next one arrives:
  // what a request written just as the app's keep-alive timeout closes the connection looks like.
  const app = net.createServer((socket) => {
    let requests = 0;
    socket.on("error", () => {});
    socket.on("data", () => {
      requests += 1;
      if (requests === 1) socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      else socket.destroy();
    });
  });
  let mesh: Mesh;

  before(async () => {
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    // Retries between the proxies off: only the server-side proxy's own second try can save the request.
    mesh = await startMesh({ backends: [{ appPort: (app.address() as net.AddressInfo).port }], clientPolicy: { retry: { enabled: false } } });
  });
  after(async () => {
    await mesh.stop();
    app.close();
  });

  it("sends an idempotent request once more on a fresh connection instead of failing it", async () => {
    const wire = ["/1", "/2", "/3"].map((p) => `GET ${p} HTTP/1.1\r\nhost: echo\r\n\r\n`).join("");
    const text = await exchange(mesh.port, wire, (t) => count(t, "HTTP/1.1 ") === 3);
    assert.equal(count(text, "HTTP/1.1 200"), 3, text);
  });
});
