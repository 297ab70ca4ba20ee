import { strict as assert } from "node:assert";
import { once } from "node:events";
import * as http from "node:http";
import * as http2 from "node:http2";
import { Writable } from "node:stream";
import * as tls from "node:tls";
import { pino } from "pino";
import { silentLogger } from "../../lib/log.ts";
import { createMetrics, type ProxyMetrics } from "../../sidecar/src/admin/metrics.ts";
import type { H1ClientConnection } from "../../sidecar/src/http1/client-connection.ts";
import { CredentialsHolder } from "../../sidecar/src/identity/credentials-source.ts";
import { ALPN_H1, ALPN_H2, ALPN_OPAQUE } from "../../sidecar/src/identity/mesh-tls.ts";
import { PeerPool, type PeerPoolOptions, type PeerTarget } from "../../sidecar/src/outbound/peer-pool.ts";
import { createTestMesh, issueTestLeaf, type TestLeaf, type TestMesh } from "../fixtures/mesh-pki.ts";
import { WirePeer } from "../fixtures/wire-peer.ts";

/** A peer proxy's TLS side: mTLS with a mesh leaf, then h2, framed HTTP/1.1 or an echo, by the ALPN the client offered. */
class PeerProxy {
  readonly server: tls.Server;
  /** The ALPN list each client offered, in order of handshakes. */
  readonly offered: string[][] = [];
  /** Every connection that completed the handshake. */
  readonly secured: tls.TLSSocket[] = [];
  readonly h2Sessions: http2.ServerHttp2Session[] = [];
  readonly #h2 = http2.createServer();
  readonly #h1 = http.createServer((req, res) => res.end(`h1 ${req.url}`));

  private constructor(leaf: TestLeaf) {
    this.server = tls.createServer({
      key: leaf.keyPem,
      cert: leaf.certChainPem,
      ca: leaf.anchorsPem,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNCallback: ({ protocols }) => {
        this.offered.push(protocols);
        return protocols[0];
      },
    });
    this.server.on("tlsClientError", () => {});
    this.server.on("secureConnection", (socket: tls.TLSSocket) => {
      socket.on("error", () => {});
      this.secured.push(socket);
      if (socket.alpnProtocol === ALPN_H2) this.#h2.emit("connection", socket);
      else if (socket.alpnProtocol === ALPN_H1) this.#h1.emit("connection", socket);
      else socket.pipe(socket);
    });
    this.#h2.on("session", (session: http2.ServerHttp2Session) => {
      session.on("error", () => {});
      this.h2Sessions.push(session);
    });
    this.#h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
      stream.on("error", () => {});
      stream.respond({ ":status": 200 });
      stream.end(`h2 ${String(headers[":path"])}`);
    });
  }

  static async listen(leaf: TestLeaf): Promise<PeerProxy> {
    const peer = new PeerProxy(leaf);
    peer.server.listen(0, "127.0.0.1");
    await once(peer.server, "listening");
    return peer;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const socket of this.secured) socket.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

async function h2Get(session: http2.ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  const stream = session.request({ ":path": path });
  const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
  let body = "";
  stream.setEncoding("utf8");
  for await (const chunk of stream) body += chunk as string;
  return { status: Number(headers[":status"]), body };
}

/** One GET on a pooled HTTP/1.1 connection: the body, or "failed" with whether a head was seen. */
function h1Get(conn: H1ClientConnection, path: string): Promise<{ status: number; body: string } | { failed: true; headSeen: boolean }> {
  return new Promise((resolve) => {
    let status = 0;
    const body: Buffer[] = [];
    conn.begin("GET", `GET ${path} HTTP/1.1\r\nhost: peer\r\n\r\n`, {
      head: (head) => {
        status = head.status;
        return true;
      },
      data: (chunk) => body.push(chunk) > 0,
      end: () => resolve({ status, body: Buffer.concat(body).toString() }),
      fail: (headSeen) => resolve({ failed: true, headSeen }),
    }, false);
  });
}

/** Resolves on 'close' whatever errors came first (events.once would reject on an 'error'). */
function closeOf(emitter: { once(event: "close", listener: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => emitter.once("close", () => resolve()));
}

async function handshakeFailures(metrics: ProxyMetrics, reason: string): Promise<number> {
  const { values } = await metrics.tlsHandshakeFailures.get();
  return values.find((v) => v.labels.direction === "outbound" && v.labels.reason === reason)?.value ?? 0;
}

describe("outbound peer pool: connections to peer proxies", () => {
  let mesh: TestMesh;
  let clientLeaf: TestLeaf;
  let serverLeaf: TestLeaf;
  let impostorLeaf: TestLeaf;
  let credentials: CredentialsHolder;
  let peer: PeerProxy;
  let metrics: ProxyMetrics;
  const pools: PeerPool[] = [];

  const targetOf = (port: number, key = `127.0.0.1:${port}`): PeerTarget => ({ key, host: "127.0.0.1", port, identity: serverLeaf.spiffeId });

  function newPool(options: Partial<PeerPoolOptions> = {}): PeerPool {
    const pool = new PeerPool({ credentials, connectTimeoutMs: 5_000, metrics, logger: silentLogger(), ...options });
    pools.push(pool);
    return pool;
  }

  before(async () => {
    mesh = await createTestMesh();
    [clientLeaf, serverLeaf, impostorLeaf] = await Promise.all([
      issueTestLeaf(mesh, { namespace: "shop", serviceAccount: "frontend" }),
      issueTestLeaf(mesh, { namespace: "shop", serviceAccount: "cart" }),
      issueTestLeaf(mesh, { namespace: "shop", serviceAccount: "impostor" }),
    ]);
    credentials = new CredentialsHolder();
    const set = credentials.set({ keyPem: clientLeaf.keyPem, certChainPem: clientLeaf.certChainPem, anchorsPem: clientLeaf.anchorsPem });
    assert.ok(set.ok);
  });

  beforeEach(async () => {
    metrics = createMetrics();
    peer = await PeerProxy.listen(serverLeaf);
  });

  afterEach(async () => {
    for (const pool of pools.splice(0)) await pool.close();
    await peer.close();
  });

  it("reaches a peer presenting the expected SPIFFE id over mutual TLS", async () => {
    const pool = newPool();
    const session = pool.session(targetOf(peer.port));
    assert.deepEqual(await h2Get(session, "/hello"), { status: 200, body: "h2 /hello" });
    assert.equal(pool.connected(session), true);
    assert.ok(peer.secured[0]?.getPeerCertificate().subjectaltname?.includes(clientLeaf.spiffeId), "the pool presented its own mesh certificate");
    assert.equal(await handshakeFailures(metrics, "wrong-identity"), 0);
  });

  it("refuses a peer presenting another SPIFFE id, says which, and counts it as wrong-identity", async () => {
    const impostor = await PeerProxy.listen(impostorLeaf);
    try {
      const lines: string[] = [];
      const logger = pino({ level: "warn" }, new Writable({ write: (line: Buffer, _enc, cb) => (lines.push(line.toString()), cb()) }));
      const pool = newPool({ logger });
      const target = targetOf(impostor.port, "cart-0");

      const socket = pool.opaque(target);
      const [err] = (await once(socket, "error").catch((e: unknown) => [e])) as [Error & { code?: string }];
      assert.equal(err.code, "ERR_WEFT_WRONG_IDENTITY");
      assert.match(err.message, new RegExp(`presented ${impostorLeaf.spiffeId}, expected ${serverLeaf.spiffeId}`));
      assert.equal(await handshakeFailures(metrics, "wrong-identity"), 1);
      const warning = JSON.parse(lines[0] ?? "{}") as { endpoint?: string; err?: string };
      assert.equal(warning.endpoint, "cart-0");
      assert.match(warning.err ?? "", /impostor/);

      const session = pool.session(target);
      const stream = session.request({ ":path": "/" });
      stream.on("error", () => {});
      await closeOf(stream);
      assert.equal(pool.connected(session), false, "the request never reached a peer");

      const conn = pool.h1(target);
      assert.deepEqual(await h1Get(conn, "/"), { failed: true, headSeen: false });
      assert.equal(pool.h1Connected(conn), false);

      assert.equal(await handshakeFailures(metrics, "wrong-identity"), 3);
      assert.equal(impostor.offered.length, 3, "each refusal happened after a real handshake");
    } finally {
      await impostor.close();
    }
  });

  it("refuses a peer whose certificate another mesh issued, as untrusted", async () => {
    const stranger = await PeerProxy.listen(await issueTestLeaf(await createTestMesh(), { namespace: "shop", serviceAccount: "cart" }));
    try {
      const pool = newPool();
      const socket = pool.opaque(targetOf(stranger.port));
      socket.on("error", () => {});
      await closeOf(socket);
      assert.equal(await handshakeFailures(metrics, "untrusted"), 1);
      assert.equal(await handshakeFailures(metrics, "wrong-identity"), 0);
    } finally {
      await stranger.close();
    }
  });

  it("carries every HTTP/2 request to an endpoint on one session", async () => {
    const pool = newPool();
    const target = targetOf(peer.port);
    const session = pool.session(target);
    const results = await Promise.all(["/a", "/b", "/c"].map((p) => h2Get(pool.session(target), p)));
    assert.deepEqual(results.map((r) => r.body), ["h2 /a", "h2 /b", "h2 /c"]);
    assert.equal(pool.session(target), session);
    assert.equal(peer.secured.length, 1);
  });

  it("replaces a session the peer closed with a new one on the next call", async () => {
    const pool = newPool();
    const target = targetOf(peer.port);
    const first = pool.session(target);
    await h2Get(first, "/one");
    const closed = closeOf(first);
    peer.h2Sessions[0]?.close();
    await closed;

    const second = pool.session(target);
    assert.notEqual(second, first);
    assert.deepEqual(await h2Get(second, "/two"), { status: 200, body: "h2 /two" });
    assert.equal(peer.secured.length, 2);
  });

  it("replaces a session this side closed at once", async () => {
    const pool = newPool();
    const target = targetOf(peer.port);
    const first = pool.session(target);
    await h2Get(first, "/one");
    first.close();
    const second = pool.session(target);
    assert.notEqual(second, first);
    assert.equal((await h2Get(second, "/two")).status, 200);
  });

  it("closes a session left idle past the idle timeout", async () => {
    const pool = newPool({ idleTimeoutMs: 50 });
    const session = pool.session(targetOf(peer.port));
    await h2Get(session, "/");
    await closeOf(session);
    assert.notEqual(pool.session(targetOf(peer.port)), session);
  });

  it("pools HTTP/1.1 connections per endpoint", async () => {
    const pool = newPool();
    const target = targetOf(peer.port);
    const conn = pool.h1(target);
    assert.deepEqual(await h1Get(conn, "/a"), { status: 200, body: "h1 /a" });
    assert.equal(pool.h1Connected(conn), true);

    const again = pool.h1(target);
    assert.equal(again, conn, "the idle connection is handed out again");
    assert.deepEqual(await h1Get(again, "/b"), { status: 200, body: "h1 /b" });

    const otherEndpoint = pool.h1(targetOf(peer.port, "other-endpoint"));
    assert.notEqual(otherEndpoint, conn);
    assert.deepEqual(await h1Get(otherEndpoint, "/c"), { status: 200, body: "h1 /c" });
    assert.equal(peer.secured.length, 2);
  });

  it("offers the ALPN the call asks for: h2 for sessions, weft.h1/1 for pooled HTTP/1.1, weft.opaque/1 for opaque streams", async () => {
    const pool = newPool();
    const target = targetOf(peer.port);
    await h2Get(pool.session(target), "/");
    await h1Get(pool.h1(target), "/");
    const opaque = pool.opaque(target);
    await once(opaque, "secureConnect");
    assert.equal(opaque.alpnProtocol, ALPN_OPAQUE);
    opaque.write("ping");
    const [echo] = (await once(opaque, "data")) as [Buffer];
    assert.equal(echo.toString(), "ping");
    assert.deepEqual(peer.offered, [[ALPN_H2], [ALPN_H1], [ALPN_OPAQUE]]);
  });

  it("gives up on a peer that never completes the handshake after the connect timeout, counted as a connect failure", async () => {
    const silent = await WirePeer.listen();
    try {
      const pool = newPool({ connectTimeoutMs: 50 });
      const started = performance.now();
      const socket = pool.opaque(targetOf(silent.port));
      const [err] = (await once(socket, "error").catch((e: unknown) => [e])) as [Error & { code?: string }];
      assert.equal(err.code, "ETIMEDOUT");
      assert.ok(performance.now() - started >= 40, "not before the timeout");
      assert.equal(await handshakeFailures(metrics, "connect"), 1);
    } finally {
      await silent.close();
    }
  });

  it("once closing, hands back no HTTP/1.1 connection to the pool and lets sessions finish", async () => {
    const pool = newPool();
    const target = targetOf(peer.port);
    const session = pool.session(target);
    await h2Get(session, "/");
    const conn = pool.h1(target);
    const inFlight = h1Get(conn, "/late");
    const closing = pool.close();
    assert.equal(pool.closing, true);
    assert.deepEqual(await inFlight, { status: 200, body: "h1 /late" });
    await closing;
    assert.equal(session.closed, true);
    if (!conn.socket.closed) await closeOf(conn.socket);
    assert.equal(conn.usable, false);
  });

  it("closing the pool while a session is still connecting does not throw into the process", async () => {
    const pool = newPool();
    const session = pool.session(targetOf(peer.port));
    // Node still emits 'connect' on the destroyed session, before 'close'.
    const closed = closeOf(session);
    await pool.close();
    await closed;
    assert.equal(session.destroyed, true);
  });
});
