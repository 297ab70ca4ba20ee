import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { waitFor } from "../support/wait.ts";
import { startMesh, type Mesh } from "./mesh-harness.ts";

const run = promisify(execFile);
const BODY_BYTES = 64 * 1024;

/** What the app saw of one request: its head, and the body bytes that reached it. */
interface Seen {
  head: string;
  bodyBytes: number;
  closed: boolean;
}

/**
 * An HTTP/1.1 app on a raw socket, so that every byte it receives is counted and
 * every interim response is its own: "accept" answers 100 and then 200 once the
 * whole body is in; "refuse" answers 403 at once, without 100 and without reading.
 */
async function startExpectApp(mode: "accept" | "refuse"): Promise<{ port: number; seen: Seen[]; close: () => void }> {
  const seen: Seen[] = [];
  const server = net.createServer((socket) => {
    let buffered = Buffer.alloc(0);
    let request: Seen | undefined;
    let length = 0;
    socket.on("error", () => {});
    socket.on("close", () => {
      if (request) request.closed = true;
    });
    socket.on("data", (chunk: Buffer) => {
      if (request) {
        request.bodyBytes += chunk.length;
      } else {
        buffered = Buffer.concat([buffered, chunk]);
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        if (buffered.toString("latin1", 0, 4) === "PRI ") {
          // The proxy's one-time probe for HTTP/2: this app speaks HTTP/1.1 only.
          socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
          return;
        }
        request = { head: buffered.toString("latin1", 0, end), bodyBytes: buffered.length - end - 4, closed: false };
        seen.push(request);
        length = Number(/\r\ncontent-length: *(\d+)/i.exec(request.head)?.[1] ?? 0);
        if (mode === "refuse") {
          socket.write("HTTP/1.1 403 Forbidden\r\ncontent-length: 7\r\n\r\nrefused");
          return;
        }
        socket.write("HTTP/1.1 100 Continue\r\n\r\n");
      }
      if (mode === "accept" && request.bodyBytes >= length) {
        const answer = `received ${request.bodyBytes}`;
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${answer.length}\r\n\r\n${answer}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, seen, close: () => void server.close() };
}

/** An HTTP/2 app that answers 100 itself (node:http2's 'stream' API says nothing for it), then 200 once the body is in. */
async function startH2ExpectApp(): Promise<{ port: number; close: () => void }> {
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    if (headers.expect === "100-continue") stream.additionalHeaders({ ":status": 100 });
    let bytes = 0;
    stream.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    stream.on("end", () => {
      stream.respond({ ":status": 200 });
      stream.end(`received ${bytes}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => void server.close() };
}

describe("Expect: 100-continue is answered by the app, not by the proxies", function () {
  this.timeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), "weft-expect-"));
  const file = join(dir, "body.bin");
  writeFileSync(file, Buffer.alloc(BODY_BYTES, 0x61));
  const stops: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const stop of stops.reverse()) await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** curl waits far longer than the test for a 100 it is not sent, so a 100 it saw came from the app. */
  const upload = async (mesh: Mesh, h2 = false): Promise<{ status: string; body: string; verbose: string }> => {
    const { stdout, stderr } = await run("curl", [...(h2 ? ["--http2-prior-knowledge"] : []), "-sS", "-v", "--expect100-timeout", "25", "-H", "Expect: 100-continue", "--data-binary", `@${file}`, "-w", "\n%{http_code}", `http://127.0.0.1:${mesh.port}/upload`]);
    const cut = stdout.lastIndexOf("\n");
    return { body: stdout.slice(0, cut), status: stdout.slice(cut + 1), verbose: stderr };
  };

  for (const peerTransport of ["h1", "h2"] as const) {
    describe(`with the peer hop over ${peerTransport}`, () => {
      it("relays the app's 100 Continue, and the app gets the whole body", async () => {
        const app = await startExpectApp("accept");
        const mesh = await startMesh({ backends: [{ appPort: app.port }], peerTransport });
        stops.push(app.close, () => mesh.stop());
        const { status, body, verbose } = await upload(mesh);
        assert.equal(status, "200");
        assert.equal(body, `received ${BODY_BYTES}`);
        assert.match(verbose, /< HTTP\/1\.1 100 Continue/);
        assert.equal(app.seen.length, 1);
        assert.match(app.seen[0]?.head ?? "", /\r\nexpect: 100-continue/i);
      });

      it("gives the client the app's refusal, and neither the app nor a proxy says 100 or moves the body", async () => {
        const app = await startExpectApp("refuse");
        const mesh = await startMesh({ backends: [{ appPort: app.port }], peerTransport });
        stops.push(app.close, () => mesh.stop());
        const { status, body, verbose } = await upload(mesh);
        assert.equal(status, "403");
        assert.equal(body, "refused");
        assert.doesNotMatch(verbose, /100 Continue/);
        // The proxy drops an app connection whose request was never sent whole: after that nothing more can arrive.
        const request = await waitFor("the app's connection to close", () => (app.seen[0]?.closed ? app.seen[0] : undefined));
        assert.match(request.head, /\r\nexpect: 100-continue/i);
        assert.equal(request.bodyBytes, 0);
      });
    });
  }

  it("relays the app's 100 Continue to an HTTP/2 client as an interim HEADERS frame", async () => {
    const app = await startExpectApp("accept");
    const mesh = await startMesh({ backends: [{ appPort: app.port }] });
    stops.push(app.close, () => mesh.stop());
    const { status, body, verbose } = await upload(mesh, true);
    assert.equal(status, "200");
    assert.equal(body, `received ${BODY_BYTES}`);
    assert.match(verbose, /< HTTP\/2 100/);
  });

  it("relays an HTTP/2 app's 100 Continue to an HTTP/2 client", async () => {
    const app = await startH2ExpectApp();
    const mesh = await startMesh({ backends: [{ appPort: app.port }] });
    stops.push(app.close, () => mesh.stop());
    const { status, body, verbose } = await upload(mesh, true);
    assert.equal(status, "200");
    assert.equal(body, `received ${BODY_BYTES}`);
    assert.match(verbose, /< HTTP\/2 100/);
  });
});
