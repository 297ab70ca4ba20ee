import { strict as assert } from "node:assert";
import * as http from "node:http";
import * as net from "node:net";
import * as http2 from "node:http2";
import { startMesh } from "./mesh-harness.ts";

/** An HTTP/1.1 app that answers with what the request's body and trailer section held. */
async function startTrailerEcho(): Promise<{ port: number; close: () => void }> {
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("latin1");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ body, trailers: req.trailers }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => void server.close() };
}

/** An app that speaks only HTTP/2 (h2c) and answers with the request's body and trailer section. */
async function startH2TrailerEcho(): Promise<{ port: number; close: () => void }> {
  const server = http2.createServer();
  server.on("stream", (stream) => {
    stream.on("error", () => {});
    let body = "";
    let trailers: http2.IncomingHttpHeaders = {};
    stream.setEncoding("latin1");
    stream.on("data", (chunk: string) => {
      body += chunk;
    });
    stream.on("trailers", (t: http2.IncomingHttpHeaders) => {
      trailers = t;
    });
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/json" });
      stream.end(JSON.stringify({ body, trailers }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => void server.close() };
}

/** One raw HTTP/1.1 exchange on its own connection (curl cannot send request trailers): the whole response as text. */
function exchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => socket.write(request, "latin1"));
    let response = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      response += chunk;
    });
    socket.on("error", reject);
    socket.on("end", () => resolve(response));
  });
}

describe("a request's trailer fields reach the app", function () {
  this.timeout(30_000);
  const stops: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  for (const peerTransport of ["h1", "h2"] as const) {
    it(`a chunked request's trailers arrive as trailers at an HTTP/1.1 app, with the peer hop over ${peerTransport}`, async () => {
      const app = await startTrailerEcho();
      const mesh = await startMesh({ backends: [{ appPort: app.port }], peerTransport });
      stops.push(app.close, () => mesh.stop());
      const response = await exchange(
        mesh.port,
        "POST /upload HTTP/1.1\r\nhost: echo\r\nconnection: close\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n" +
          "5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: sha256=abc\r\ncontent-length: 99\r\n\r\n",
      );
      assert.match(response, /^HTTP\/1\.1 200 /);
      const echoed = JSON.parse(response.slice(response.indexOf("{"), response.lastIndexOf("}") + 1)) as { body: string; trailers: Record<string, string> };
      assert.equal(echoed.body, "hello world");
      // Framing never travels in a trailer section: only the checksum goes on.
      assert.deepEqual(echoed.trailers, { "x-checksum": "sha256=abc" });
    });
  }

  it("a chunked HTTP/1.1 request's trailers arrive as HTTP/2 trailers at an app that speaks only HTTP/2", async () => {
    const app = await startH2TrailerEcho();
    const mesh = await startMesh({ backends: [{ appPort: app.port }] });
    stops.push(app.close, () => mesh.stop());
    const response = await exchange(
      mesh.port,
      "POST /upload HTTP/1.1\r\nhost: echo\r\nconnection: close\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n" +
        "5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: sha256=abc\r\n\r\n",
    );
    assert.match(response, /^HTTP\/1\.1 200 /);
    const echoed = JSON.parse(response.slice(response.indexOf("{"), response.lastIndexOf("}") + 1)) as { body: string; trailers: Record<string, string> };
    assert.equal(echoed.body, "hello world");
    assert.equal(echoed.trailers["x-checksum"], "sha256=abc");
  });
});
