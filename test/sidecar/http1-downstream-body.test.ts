import { strict as assert } from "node:assert";
import { once } from "node:events";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { FramedH1Downstream, type FramedConnectionHooks } from "../../sidecar/src/http1/downstream.ts";
import { parseRequestHead, type RequestHead } from "../../sidecar/src/http1/framer.ts";

/** A real loopback connection: the proxy's end (what the downstream writes to) and the client's, paused until asked. */
async function socketPair(): Promise<{ proxy: net.Socket; client: net.Socket; close(): void }> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const client = net.connect((server.address() as AddressInfo).port, "127.0.0.1");
  client.pause();
  const [proxy] = (await once(server, "connection")) as [net.Socket];
  return { proxy, client, close: () => { client.destroy(); proxy.destroy(); server.close(); } };
}

function head(): RequestHead {
  const parsed = parseRequestHead(Buffer.from("GET /big HTTP/1.1\r\nhost: app\r\n\r\n"), 16_384);
  assert.equal(parsed.kind, "head");
  return (parsed as { head: RequestHead }).head;
}

function hooks(socket: net.Socket, done: (keepOpen: boolean) => void): FramedConnectionHooks {
  return { socket, resumeBody: () => undefined, responseDone: done, isDraining: () => false };
}

describe("a framed HTTP/1.1 response body written straight to the client's socket", function () {
  this.timeout(20_000);

  it("says stop once the socket holds more than it should, runs onDrain when the client reads, and delivers every byte in order", async () => {
    const pair = await socketPair();
    try {
      const CHUNK = 256 * 1024;
      const TOTAL = 64;
      const chunk = (i: number) => Buffer.alloc(CHUNK, i % 251);
      let finished: boolean | undefined;
      const ds = new FramedH1Downstream(head(), hooks(pair.proxy, (keepOpen) => { finished = keepOpen; }));
      ds.respond(200, { "content-length": String(TOTAL * CHUNK) }, false);
      let drained = 0;
      /** Writes chunk i; resolves at once when the downstream takes more, else when its onDrain runs. */
      const write = (i: number): { more: boolean; drain: Promise<void> } => {
        let resolve!: () => void;
        const drain = new Promise<void>((r) => { resolve = r; });
        const more = ds.writeBody(chunk(i), () => { drained++; resolve(); });
        return { more, drain };
      };
      let next = 0;
      let stop: Promise<void> | undefined;
      // The client reads nothing yet: the downstream says stop long before all 16 MB are written.
      while (next < TOTAL && !stop) {
        const w = write(next++);
        if (!w.more) stop = w.drain;
      }
      assert.ok(stop && next < TOTAL, `writeBody said stop after ${next} of ${TOTAL} chunks`);
      assert.equal(drained, 0, "onDrain waits for the client to read");
      const received: Buffer[] = [];
      let bytes = 0;
      const all = new Promise<void>((resolve) => {
        pair.client.on("data", (d: Buffer) => {
          received.push(d);
          bytes += d.length;
          if (bytes >= TOTAL * CHUNK) resolve();
        });
      });
      pair.client.resume();
      await stop;
      assert.equal(drained, 1);
      while (next < TOTAL) {
        const w = write(next++);
        if (!w.more) await w.drain;
      }
      ds.finish(undefined);
      assert.equal(finished, true, "the response is done and the connection may carry the next request");
      await all;
      const wire = Buffer.concat(received);
      const bodyAt = wire.indexOf("\r\n\r\n") + 4;
      assert.match(wire.subarray(0, bodyAt).toString("latin1"), /^HTTP\/1\.1 200 OK\r\ncontent-length: 16777216\r\n\r\n$/);
      assert.equal(wire.length - bodyAt, TOTAL * CHUNK);
      for (let i = 0; i < TOTAL; i++) {
        const at = bodyAt + i * CHUNK;
        assert.ok(wire[at] === i % 251 && wire[at + CHUNK - 1] === i % 251, `chunk ${i} in its place`);
      }
    } finally {
      pair.close();
    }
  });
});
