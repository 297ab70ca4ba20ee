import { strict as assert } from "node:assert";
import { once } from "node:events";
import type { OutgoingHttpHeaders } from "node:http";
import type * as http2 from "node:http2";
import type * as net from "node:net";
import { PassThrough, Writable, type Readable } from "node:stream";
import type { Downstream } from "../../sidecar/src/http/downstream.ts";
import { WEFT_CLIENT_ID } from "../../sidecar/src/http/headers.ts";
import { fieldsOf } from "../../sidecar/src/http/request.ts";
import type { RelayResult } from "../../sidecar/src/http/relay-response.ts";
import { AppH1Pool } from "../../sidecar/src/inbound/app-pool-h1.ts";
import { WirePeer } from "../fixtures/wire-peer.ts";

/** The client's side of the request as the pool sees it: records what is relayed to it, in order. */
class RecordingDownstream implements Downstream {
  readonly expectsContinue = false;
  sendContinue(): void {}
  readonly proto = "h1";
  readonly method: string;
  readonly path = "/x";
  readonly authority = "app";
  readonly fields: readonly string[] = ["host", "app"];
  readonly fieldsChecked = true;
  readonly body: Readable;
  readonly hasBody: boolean;
  readonly writes: Buffer[] = [];
  readonly sink = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      this.writes.push(chunk);
      cb();
    },
  });
  responded = false;
  status: number | undefined;
  responseHeaders: OutgoingHttpHeaders | undefined;
  endedWithHead = false;
  finished = false;
  responseTrailers: OutgoingHttpHeaders | undefined;
  readonly mayHaveTrailers = false;
  readonly trailers = undefined;
  aborted = false;
  readonly #abortListeners: (() => void)[] = [];

  constructor(method = "GET", body?: string) {
    this.method = method;
    const stream = new PassThrough();
    if (body !== undefined) stream.end(body);
    this.body = stream;
    this.hasBody = body !== undefined;
  }

  respond(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void {
    this.responded = true;
    this.status = status;
    this.responseHeaders = headers;
    this.endedWithHead = endStream;
  }

  finish(trailers: OutgoingHttpHeaders | undefined): void {
    this.finished = true;
    this.responseTrailers = trailers;
  }

  abort(): void {
    this.aborted = true;
  }

  onAbort(listener: () => void): void {
    this.#abortListeners.push(listener);
  }

  /** The client goes away before the response is finished. */
  goAway(): void {
    for (const l of this.#abortListeners) l();
  }

  get text(): string {
    return Buffer.concat(this.writes).toString("latin1");
  }
}

const h2Headers = (method: string, extra: http2.OutgoingHttpHeaders = {}): http2.OutgoingHttpHeaders => ({ ":method": method, ":path": "/x", ":scheme": "http", ":authority": "app", ...extra });

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setImmediate(r));
}

describe("inbound HTTP/1.1 app pool", () => {
  let app: WirePeer;
  let pool: AppH1Pool;

  /** Forwards one request; resolves with its result, and fails the test if `done` is called twice. */
  function forward(ds: RecordingDownstream, headers = h2Headers(ds.method), port = app.port): Promise<RelayResult> {
    return new Promise((resolve) => {
      let calls = 0;
      pool.forward(port, ds, { fields: fieldsOf(headers), checked: false, addName: WEFT_CLIENT_ID, addValue: "spiffe://cluster.local/ns/default/sa/client" }, (result) => {
        calls++;
        assert.equal(calls, 1, "done is called once");
        resolve(result);
      });
    });
  }

  /** Answers the next request the app reads with exactly `response`; resolves with the app's socket. */
  async function answer(response: string, peer = app): Promise<net.Socket> {
    const { socket } = await peer.next();
    socket.write(response, "latin1");
    return socket;
  }

  beforeEach(async () => {
    app = await WirePeer.listen();
    pool = new AppH1Pool("127.0.0.1");
  });

  afterEach(async () => {
    pool.close();
    await app.close();
  });

  it("keeps one connection per app port alive and reuses it for the next request", async () => {
    const other = await WirePeer.listen();
    try {
      for (let i = 0; i < 3; i++) {
        const ds = new RecordingDownstream();
        const result = forward(ds);
        const server = await answer("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        assert.deepEqual(await result, { status: 200, requestBytes: 0, responseBytes: 2 });
        assert.equal(server, app.sockets[0]);
      }
      assert.equal(app.sockets.length, 1);

      const ds = new RecordingDownstream();
      const result = forward(ds, h2Headers("GET"), other.port);
      await answer("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", other);
      assert.equal((await result).status, 200);
      assert.equal(other.sockets.length, 1, "another port has its own connection");
      assert.equal(app.sockets.length, 1);
    } finally {
      await other.close();
    }
  });

  it("relays the response to the downstream as it is read, before the app has sent all of it", async () => {
    const ds = new RecordingDownstream();
    const result = forward(ds);
    const server = await answer("HTTP/1.1 200 OK\r\nx-app: yes\r\ncontent-length: 12\r\n\r\nfirst");
    await until(() => ds.text === "first");
    assert.equal(ds.status, 200);
    assert.equal(ds.responseHeaders?.["x-app"], "yes");
    assert.equal(ds.finished, false);
    server.write("-second", "latin1");
    assert.deepEqual(await result, { status: 200, requestBytes: 0, responseBytes: 12 });
    assert.equal(ds.text, "first-second");
    assert.ok(ds.writes.length >= 2, "the body went out in pieces as it arrived");
    assert.equal(ds.finished, true);
  });

  it("relays a chunked response decoded, with its trailers, and leaves hop-by-hop headers behind", async () => {
    const ds = new RecordingDownstream();
    const result = forward(ds);
    await answer("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n3\r\nabc\r\n0\r\nx-sum: 1\r\n\r\n");
    assert.deepEqual(await result, { status: 200, requestBytes: 0, responseBytes: 3 });
    assert.equal(ds.text, "abc");
    assert.deepEqual(ds.responseTrailers, { "x-sum": "1" });
    assert.equal(ds.responseHeaders?.["transfer-encoding"], undefined);
    assert.equal(ds.responseHeaders?.connection, undefined);
  });

  it("a response without a body ends the downstream with its head", async () => {
    const ds = new RecordingDownstream();
    const result = forward(ds);
    await answer("HTTP/1.1 204 No Content\r\n\r\n");
    assert.equal((await result).status, 204);
    assert.equal(ds.endedWithHead, true);
    assert.equal(ds.finished, false);
  });

  it("sends the request body and counts it", async () => {
    const ds = new RecordingDownstream("POST", "hello");
    const result = forward(ds, h2Headers("POST", { "content-length": "5" }));
    const { socket, text } = await app.next("hello");
    assert.match(text, /^POST \/x HTTP\/1\.1\r\n/);
    assert.ok(text.endsWith("\r\n\r\nhello"));
    socket.write("HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n", "latin1");
    assert.deepEqual(await result, { status: 201, requestBytes: 5, responseBytes: 0 });
  });

  it("the app closing mid-response breaks the downstream off with app-reset, and the connection is dropped", async () => {
    const ds = new RecordingDownstream();
    const result = forward(ds);
    const { socket } = await app.next();
    socket.end("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabcd", "latin1");
    assert.deepEqual(await result, { status: 502, error: "app-reset", responseBytes: 4 });
    assert.equal(ds.aborted, true);
    assert.equal(ds.text, "abcd");

    const next = new RecordingDownstream();
    const again = forward(next);
    await answer("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    assert.equal((await again).status, 200);
    assert.equal(app.sockets.length, 2, "the broken connection was not used again");
  });

  it("the app closing a new connection without answering gives the client a 502 app-unavailable", async () => {
    const ds = new RecordingDownstream();
    const result = forward(ds);
    const { socket } = await app.next();
    socket.end();
    assert.deepEqual(await result, { status: 502, error: "app-unavailable" });
    assert.equal(ds.status, 502);
    assert.equal(ds.responseHeaders?.["weft-error"], "app-unavailable");
    assert.equal(ds.endedWithHead, true);
    assert.equal(app.sockets.length, 1, "a request on a fresh connection is not repeated");
  });

  it("a kept-alive connection the app dropped as a GET went out is retried once on a fresh connection", async () => {
    const first = forward(new RecordingDownstream());
    await answer("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    await first;

    const ds = new RecordingDownstream();
    const result = forward(ds);
    const stale = await app.next();
    assert.equal(stale.socket, app.sockets[0]);
    stale.socket.destroy();
    const fresh = await answer("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    assert.equal(fresh, app.sockets[1]);
    assert.deepEqual(await result, { status: 200, requestBytes: 0, responseBytes: 2 });
    assert.equal(ds.text, "ok");
  });

  it("a request with a body is not repeated when a kept-alive connection fails under it", async () => {
    const first = forward(new RecordingDownstream());
    await answer("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    await first;

    const ds = new RecordingDownstream("PUT", "body");
    const result = forward(ds, h2Headers("PUT", { "content-length": "4" }));
    const stale = await app.next("body");
    stale.socket.destroy();
    assert.deepEqual(await result, { status: 502, error: "app-unavailable" });
    assert.equal(app.sockets.length, 1);
  });

  it("concurrent requests to one port open more connections, each reused afterwards", async () => {
    for (let round = 0; round < 2; round++) {
      const a = forward(new RecordingDownstream());
      const b = forward(new RecordingDownstream());
      const first = await app.next();
      const second = await app.next();
      assert.notEqual(first.socket, second.socket, "one exchange at a time per connection");
      first.socket.write("HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na", "latin1");
      second.socket.write("HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nb", "latin1");
      assert.equal((await a).status, 200);
      assert.equal((await b).status, 200);
    }
    assert.equal(app.sockets.length, 2);
  });

  it("a client going away mid-response closes the app connection and still reports the request", async () => {
    const ds = new RecordingDownstream();
    const result = forward(ds);
    const server = await answer("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial");
    await until(() => ds.text === "partial");
    ds.goAway();
    await once(server, "close");
    assert.deepEqual(await result, { status: 499, error: "client-gone", requestBytes: 0, responseBytes: 7 });
  });
});
