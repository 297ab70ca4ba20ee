import { strict as assert } from "node:assert";
import { once } from "node:events";
import type { IncomingHttpHeaders } from "node:http";
import * as net from "node:net";
import { H1ClientConnection, IdleConnections } from "../../sidecar/src/http1/client-connection.ts";
import type { ResponseHead } from "../../sidecar/src/http1/framer.ts";
import { WirePeer } from "../fixtures/wire-peer.ts";

type Outcome =
  | { kind: "end"; head: ResponseHead; body: string; trailers: IncomingHttpHeaders | undefined }
  | { kind: "fail"; headSeen: boolean; heads: number; body: string };

interface Hooks {
  hasBody?: boolean;
  onHead?: (head: ResponseHead) => boolean;
  onData?: (chunk: Buffer) => boolean;
}

/** Runs one exchange on `conn` and resolves with how it ended. */
function exchange(conn: H1ClientConnection, method: string, head: string, hooks: Hooks = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const body: Buffer[] = [];
    let seen: ResponseHead | undefined;
    let heads = 0;
    conn.begin(method, head, {
      head: (h) => {
        seen = h;
        heads++;
        return hooks.onHead ? hooks.onHead(h) : true;
      },
      data: (chunk) => {
        body.push(chunk);
        return hooks.onData ? hooks.onData(chunk) : true;
      },
      end: (trailers) => resolve({ kind: "end", head: seen as ResponseHead, body: Buffer.concat(body).toString("latin1"), trailers }),
      fail: (headSeen) => resolve({ kind: "fail", headSeen, heads, body: Buffer.concat(body).toString("latin1") }),
    }, hooks.hasBody ?? false);
  });
}

const GET = "GET /x HTTP/1.1\r\nhost: app\r\n\r\n";

function ended(outcome: Outcome): Extract<Outcome, { kind: "end" }> {
  assert.equal(outcome.kind, "end", `expected the exchange to end, got ${JSON.stringify(outcome)}`);
  return outcome as Extract<Outcome, { kind: "end" }>;
}

function failed(outcome: Outcome): Extract<Outcome, { kind: "fail" }> {
  assert.equal(outcome.kind, "fail", `expected the exchange to fail, got ${JSON.stringify(outcome)}`);
  return outcome as Extract<Outcome, { kind: "fail" }>;
}

async function closed(socket: net.Socket): Promise<void> {
  if (!socket.closed) await once(socket, "close");
}

describe("HTTP/1.1 client connection", () => {
  let peer: WirePeer;
  const clients: net.Socket[] = [];

  /** A connection to the peer and the list of times it handed itself back to its pool. */
  function connect(idleMs = 10_000): { conn: H1ClientConnection; released: H1ClientConnection[] } {
    const released: H1ClientConnection[] = [];
    const socket = net.connect({ host: "127.0.0.1", port: peer.port });
    clients.push(socket);
    return { conn: new H1ClientConnection(socket, (c) => released.push(c), idleMs), released };
  }

  /** One exchange answered with exactly `response`; resolves with the outcome and the peer's socket. */
  async function answered(conn: H1ClientConnection, response: string, method = "GET"): Promise<{ outcome: Outcome; server: net.Socket }> {
    const done = exchange(conn, method, `${method} /x HTTP/1.1\r\nhost: app\r\n\r\n`);
    const { socket } = await peer.next();
    socket.write(response, "latin1");
    return { outcome: await done, server: socket };
  }

  beforeEach(async () => {
    peer = await WirePeer.listen();
  });

  afterEach(async () => {
    for (const s of clients.splice(0)) s.destroy();
    await peer.close();
  });

  describe("one exchange at a time on a keep-alive connection", () => {
    it("a content-length response ends on its boundary and the connection is pooled and carries the next exchange", async () => {
      const { conn, released } = connect();
      const first = ended((await answered(conn, "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")).outcome);
      assert.equal(first.head.status, 200);
      assert.equal(first.body, "hello");
      assert.deepEqual(released, [conn]);

      const second = ended((await answered(conn, "HTTP/1.1 201 Created\r\ncontent-length: 3\r\n\r\nbye")).outcome);
      assert.equal(second.head.status, 201);
      assert.equal(second.body, "bye");
      assert.deepEqual(released, [conn, conn]);
      assert.equal(peer.sockets.length, 1, "both exchanges on one connection");
    });

    it("a chunked response is cut out of the stream with its trailers and the connection is pooled", async () => {
      const { conn, released } = connect();
      const { outcome } = await answered(conn, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\ngrpc-status: 0\r\n\r\n");
      const end = ended(outcome);
      assert.equal(end.body, "hello world");
      assert.deepEqual({ ...end.trailers }, { "grpc-status": "0" });
      assert.deepEqual(released, [conn]);
    });

    it("a response delimited by the close is complete when the peer closes cleanly, and the connection is not pooled", async () => {
      const { conn, released } = connect();
      const done = exchange(conn, "GET", GET);
      const { socket } = await peer.next();
      socket.write("HTTP/1.1 200 OK\r\n\r\nuntil ", "latin1");
      socket.end("the end", "latin1");
      const end = ended(await done);
      assert.equal(end.body, "until the end");
      assert.equal(end.head.keepAlive, false);
      assert.deepEqual(released, []);
      assert.equal(conn.socket.destroyed, true);
    });

    it("a response delimited by the close and cut by a reset fails after its head", async () => {
      const { conn, released } = connect();
      let headSeen!: () => void;
      const headArrived = new Promise<void>((r) => (headSeen = r));
      const done = exchange(conn, "GET", GET, {
        onHead: () => {
          headSeen();
          return true;
        },
      });
      const { socket } = await peer.next();
      socket.write("HTTP/1.1 200 OK\r\n\r\npartial", "latin1");
      await headArrived;
      socket.resetAndDestroy();
      const fail = failed(await done);
      assert.equal(fail.headSeen, true);
      assert.deepEqual(released, []);
    });

    it("skips interim 1xx responses: the handlers see only the final one", async () => {
      const { conn, released } = connect();
      const end = ended((await answered(conn, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")).outcome);
      assert.equal(end.head.status, 200);
      assert.equal(end.body, "ok");
      assert.deepEqual(released, [conn]);
    });

    it("a response to HEAD has no body whatever its content-length says, and the connection is pooled", async () => {
      const { conn, released } = connect();
      const end = ended((await answered(conn, "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n", "HEAD")).outcome);
      assert.equal(end.body, "");
      assert.deepEqual(released, [conn]);
    });

    it("204 and 304 responses have no body and the connection is pooled", async () => {
      const { conn, released } = connect();
      assert.equal(ended((await answered(conn, "HTTP/1.1 204 No Content\r\n\r\n")).outcome).head.status, 204);
      assert.equal(ended((await answered(conn, "HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n")).outcome).head.status, 304);
      assert.deepEqual(released, [conn, conn]);
    });

    it("reassembles a response that arrives a byte at a time", async () => {
      const { conn, released } = connect();
      const done = exchange(conn, "GET", GET);
      const { socket } = await peer.next();
      for (const byte of "HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nabcd") {
        socket.write(byte, "latin1");
        await new Promise((r) => setImmediate(r));
      }
      const end = ended(await done);
      assert.equal(end.body, "abcd");
      assert.deepEqual(released, [conn]);
    });
  });

  describe("the connection is pooled only when both messages ended on their boundaries", () => {
    it("a response cut mid-body fails after its head and the connection is closed, not pooled", async () => {
      const { conn, released } = connect();
      const done = exchange(conn, "GET", GET);
      const { socket } = await peer.next();
      socket.end("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabcd", "latin1");
      const fail = failed(await done);
      assert.equal(fail.headSeen, true);
      assert.equal(fail.body, "abcd");
      assert.deepEqual(released, []);
      await closed(conn.socket);
    });

    it("a chunked response cut between chunks fails after its head", async () => {
      const { conn, released } = connect();
      const done = exchange(conn, "GET", GET);
      const { socket } = await peer.next();
      socket.end("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n", "latin1");
      assert.equal(failed(await done).headSeen, true);
      assert.deepEqual(released, []);
    });

    it("a peer closing before any response fails the exchange before its head", async () => {
      const { conn, released } = connect();
      const done = exchange(conn, "GET", GET);
      const { socket } = await peer.next();
      socket.end();
      const fail = failed(await done);
      assert.equal(fail.headSeen, false);
      assert.equal(fail.heads, 0);
      assert.deepEqual(released, []);
    });

    it("bytes past the end of the response close the connection instead of pooling it", async () => {
      const { conn, released } = connect();
      const { outcome } = await answered(conn, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
      assert.equal(ended(outcome).body, "ok", "the response itself is whole");
      assert.deepEqual(released, []);
      assert.equal(conn.socket.destroyed, true);
    });

    it("a response with `Connection: close` is delivered but the connection is closed, not pooled", async () => {
      const { conn, released } = connect();
      const { outcome } = await answered(conn, "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok");
      assert.equal(ended(outcome).body, "ok");
      assert.deepEqual(released, []);
      assert.equal(conn.socket.destroyed, true);
    });

    it("an HTTP/1.0 response without keep-alive is not pooled, one with it is", async () => {
      const plain = connect();
      ended((await answered(plain.conn, "HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok")).outcome);
      assert.deepEqual(plain.released, []);

      const kept = connect();
      ended((await answered(kept.conn, "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\nok")).outcome);
      assert.deepEqual(kept.released, [kept.conn]);
    });

    it("a response that ends before the request body was ended is delivered but the connection is not pooled", async () => {
      const { conn, released } = connect();
      const done = exchange(conn, "POST", "POST /upload HTTP/1.1\r\nhost: app\r\ntransfer-encoding: chunked\r\n\r\n", { hasBody: true });
      conn.writeBody(Buffer.from("first part"), true);
      const { socket } = await peer.next();
      socket.write("HTTP/1.1 413 Too Large\r\ncontent-length: 0\r\n\r\n", "latin1");
      assert.equal(ended(await done).head.status, 413);
      assert.deepEqual(released, []);
      assert.equal(conn.socket.destroyed, true);
    });

    it("a response the framer refuses fails before its head", async () => {
      const { conn, released } = connect();
      const { outcome } = await answered(conn, "HTTP/1.1 OK\r\n\r\n");
      const fail = failed(outcome);
      assert.equal(fail.headSeen, false);
      assert.equal(fail.heads, 0);
      assert.deepEqual(released, []);
    });

    it("a malformed chunk fails after the head was handed out", async () => {
      const { conn, released } = connect();
      const { outcome } = await answered(conn, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n");
      const fail = failed(outcome);
      assert.equal(fail.headSeen, true);
      assert.equal(fail.heads, 1);
      assert.deepEqual(released, []);
    });

    it("a handler that declines the head abandons the exchange: the connection closes and no other handler runs", async () => {
      const { conn, released } = connect();
      const calls: string[] = [];
      conn.begin("GET", GET, {
        head: () => {
          calls.push("head");
          return false;
        },
        data: () => {
          calls.push("data");
          return true;
        },
        end: () => calls.push("end"),
        fail: () => calls.push("fail"),
      }, false);
      const { socket } = await peer.next();
      socket.write("HTTP/1.1 500 Oops\r\ncontent-length: 4\r\n\r\nbody", "latin1");
      await closed(conn.socket);
      assert.deepEqual(calls, ["head"]);
      assert.deepEqual(released, []);
    });

    it("unsolicited bytes on a pooled idle connection close it", async () => {
      const { conn, released } = connect();
      const { server } = await answered(conn, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
      assert.deepEqual(released, [conn]);
      server.write("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", "latin1");
      await closed(conn.socket);
      assert.equal(conn.usable, false);
    });

    it("a peer closing a pooled idle connection makes it unusable at once", async () => {
      const { conn, released } = connect();
      const { server } = await answered(conn, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
      assert.equal(conn.usable, true);
      assert.deepEqual(released, [conn]);
      server.end();
      await closed(conn.socket);
      assert.equal(conn.usable, false);
    });
  });

  describe("request bodies and reading", () => {
    it("writes the request body chunk-encoded when asked and pools the connection once both messages ended", async () => {
      const { conn, released } = connect();
      const done = exchange(conn, "POST", "POST /upload HTTP/1.1\r\nhost: app\r\ntransfer-encoding: chunked\r\n\r\n", { hasBody: true });
      assert.equal(conn.writeBody(Buffer.from("hello"), true), true);
      conn.writeBody(Buffer.alloc(0), true); // an empty write must not end the chunked body early
      conn.writeBody(Buffer.from(" world!"), true);
      conn.endBody(true);
      const head = await peer.next();
      const body = await peer.next("0\r\n\r\n");
      assert.equal(head.text, "POST /upload HTTP/1.1\r\nhost: app\r\ntransfer-encoding: chunked\r\n\r\n");
      assert.equal(body.text, "5\r\nhello\r\n7\r\n world!\r\n0\r\n\r\n");
      body.socket.write("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", "latin1");
      ended(await done);
      assert.deepEqual(released, [conn]);
    });

    it("writes a request body of known length as it is", async () => {
      const { conn, released } = connect();
      const done = exchange(conn, "PUT", "PUT /k HTTP/1.1\r\nhost: app\r\ncontent-length: 6\r\n\r\n", { hasBody: true });
      conn.writeBody(Buffer.from("abc"), false);
      conn.writeBody(Buffer.from("def"), false);
      conn.endBody(false);
      const body = await peer.next("abcdef");
      assert.equal(body.text, "PUT /k HTTP/1.1\r\nhost: app\r\ncontent-length: 6\r\n\r\nabcdef");
      body.socket.write("HTTP/1.1 204 No Content\r\n\r\n", "latin1");
      ended(await done);
      assert.deepEqual(released, [conn]);
    });

    it("a data handler returning false pauses reading until resume()", async () => {
      const { conn, released } = connect();
      let firstData!: () => void;
      const paused = new Promise<void>((r) => (firstData = r));
      let calls = 0;
      const done = exchange(conn, "GET", GET, {
        onData: () => {
          calls++;
          if (calls === 1) firstData();
          return calls > 1;
        },
      });
      const { socket } = await peer.next();
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nfirst", "latin1");
      await paused;
      assert.equal(conn.socket.isPaused(), true);
      socket.write("end", "latin1");
      conn.resume();
      assert.equal(ended(await done).body, "firstend");
      assert.deepEqual(released, [conn]);
    });
  });

  describe("idle expiry", function () {
    // A connection that never expires would otherwise only fail at mocha's 20 s.
    this.timeout(2_000);

    it("a pooled connection left idle past its timeout closes itself", async () => {
      const { conn, released } = connect(50);
      await answered(conn, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
      assert.deepEqual(released, [conn]);
      const idleSince = performance.now();
      await closed(conn.socket);
      assert.ok(performance.now() - idleSince >= 25, "closed by the idle timeout, not at once");
      assert.equal(conn.usable, false);
    });

    it("an exchange slower than the idle timeout is not cut, and the connection still expires once idle afterwards", async () => {
      const { conn, released } = connect(30);
      const done = exchange(conn, "GET", GET);
      const { socket } = await peer.next();
      // The socket's idle timer fires while the exchange is under way: the connection must ignore it.
      await once(conn.socket, "timeout");
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nslow", "latin1");
      assert.equal(ended(await done).body, "slow");
      assert.deepEqual(released, [conn]);
      await closed(conn.socket);
      assert.equal(conn.usable, false);
    });
  });

  describe("idle connections per key", () => {
    it("hands out the newest idle connection of a key first, and nothing for another key", () => {
      const idle = new IdleConnections<number>(4);
      const a = connect().conn;
      const b = connect().conn;
      idle.put(80, a);
      idle.put(80, b);
      assert.equal(idle.take(81), undefined);
      assert.equal(idle.take(80), b);
      assert.equal(idle.take(80), a);
      assert.equal(idle.take(80), undefined);
    });

    it("passes over and closes connections that died while idle", () => {
      const idle = new IdleConnections<number>(4);
      const alive = connect().conn;
      const dead = connect().conn;
      idle.put(80, alive);
      idle.put(80, dead);
      dead.socket.destroy();
      assert.equal(idle.take(80), alive);
      assert.equal(idle.take(80), undefined);
    });

    it("closes a connection put past the per-key maximum", () => {
      const idle = new IdleConnections<number>(1);
      const kept = connect().conn;
      const extra = connect().conn;
      const otherKey = connect().conn;
      idle.put(80, kept);
      idle.put(80, extra);
      idle.put(81, otherKey);
      assert.equal(extra.socket.destroyed, true);
      assert.equal(kept.socket.destroyed, false);
      assert.equal(idle.take(81), otherKey, "the maximum is per key");
    });

    it("forgets a connection it is told about, and destroyAll closes every idle one", () => {
      const idle = new IdleConnections<number>(4);
      const a = connect().conn;
      const b = connect().conn;
      const c = connect().conn;
      idle.put(80, a);
      idle.put(80, b);
      idle.put(81, c);
      idle.forget(80, b);
      assert.equal(b.socket.destroyed, false);
      idle.destroyAll();
      assert.equal(a.socket.destroyed, true);
      assert.equal(c.socket.destroyed, true);
      assert.equal(b.socket.destroyed, false, "a forgotten connection is no longer the pool's");
      assert.equal(idle.take(80), undefined);
    });
  });
});
