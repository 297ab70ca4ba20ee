// Connections from this proxy to other proxies: mTLS with the peer's SPIFFE id
// checked against the one the snapshot names: pooled keep-alive HTTP/1.1
// connections per endpoint (ALPN weft.h1/1) for HTTP/1.1 callers, one HTTP/2
// session per endpoint for HTTP/2 and gRPC callers (every request a stream),
// and separate connections with ALPN weft.opaque/1 for opaque TCP and upgrades.
import * as http2 from "node:http2";
import { H1ClientConnection, IdleConnections } from "../http1/client-connection.ts";
import * as tls from "node:tls";
import type { PeerCertificate } from "node:tls";
import type { Logger } from "../../../lib/log.ts";
import { spiffeIdOfSan } from "../../../lib/spiffe.ts";
import type { CredentialsSource } from "../identity/credentials-source.ts";
import type { ProxyMetrics } from "../admin/metrics.ts";
import { ALPN_H1, ALPN_H2, ALPN_OPAQUE, classifyTlsError } from "../identity/mesh-tls.ts";

export interface PeerTarget {
  /** Endpoint key (address:port as the snapshot names it). */
  key: string;
  host: string;
  port: number;
  /** The SPIFFE id the peer must present. */
  identity: string;
}

export interface PeerPoolOptions {
  credentials: CredentialsSource;
  connectTimeoutMs: number;
  metrics: ProxyMetrics;
  logger: Logger;
  idleTimeoutMs?: number;
}

function checkIdentity(expected: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const id = spiffeIdOfSan(cert.subjectaltname);
    if (id.ok && id.value === expected) return undefined;
    const err = new Error(`peer presented ${id.ok ? id.value : "no SPIFFE id"}, expected ${expected}`) as Error & { code: string };
    err.code = "ERR_WEFT_WRONG_IDENTITY";
    return err;
  };
}

const SESSION_SETTINGS: http2.Settings = { initialWindowSize: 1 << 20, enablePush: false, maxHeaderListSize: 64 * 1024 };

export class PeerPool {
  readonly #options: PeerPoolOptions;
  readonly #sessions = new Map<string, http2.ClientHttp2Session>();
  readonly #connected = new WeakSet<http2.ClientHttp2Session>();
  readonly #h1Idle = new IdleConnections<string>(64);
  readonly #h1All = new Set<H1ClientConnection>();
  readonly #h1Secured = new WeakSet<H1ClientConnection>();
  #closing = false;

  constructor(options: PeerPoolOptions) {
    this.#options = options;
  }

  /** This proxy's own SPIFFE id ("" before it has a certificate): the src_* labels of its outbound requests. */
  get selfIdentity(): string {
    return this.#options.credentials.current()?.spiffeId ?? "";
  }

  #connectTls(target: PeerTarget, alpn: string, allowHalfOpen = false): tls.TLSSocket {
    const material = this.#options.credentials.current();
    // Node's TLSSocket takes allowHalfOpen as net.Socket does; @types/node leaves it out of ConnectionOptions.
    const options: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
      host: target.host,
      port: target.port,
      secureContext: material?.context,
      ALPNProtocols: [alpn],
      rejectUnauthorized: true,
      checkServerIdentity: checkIdentity(target.identity),
      allowHalfOpen,
    };
    const socket = tls.connect(options);
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" })), this.#options.connectTimeoutMs);
    socket.once("secureConnect", () => clearTimeout(timer));
    socket.once("close", () => clearTimeout(timer));
    socket.once("error", (err: Error & { code?: string }) => {
      if (socket.authorized) return;
      this.#options.metrics.tlsHandshakeFailures.inc({ direction: "outbound", reason: classifyTlsError(err) });
      this.#options.logger.warn({ endpoint: target.key, err: err.message }, "connection to peer proxy failed");
    });
    return socket;
  }

  /** The pooled HTTP/2 session to `target`, connecting if there is none usable. */
  session(target: PeerTarget): http2.ClientHttp2Session {
    const existing = this.#sessions.get(target.key);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const session = http2.connect(`https://${target.host}:${target.port}`, {
      createConnection: () => this.#connectTls(target, ALPN_H2),
      settings: SESSION_SETTINGS,
      maxSessionMemory: 64,
      // A field the client repeated goes to the peer repeated (h2RequestHeaders), not refused by node.
      strictSingleValueFields: false,
    });
    session.on("connect", () => {
      this.#connected.add(session);
      // A session closed while it was still connecting (pool.close() at shutdown) is already
      // destroyed when 'connect' arrives, and setLocalWindowSize would throw into the process.
      if (!session.destroyed) session.setLocalWindowSize(8 << 20);
    });
    session.on("error", () => {}); // each stream reports its own failure
    session.on("goaway", () => this.#forget(target.key, session));
    session.on("close", () => this.#forget(target.key, session));
    if (this.#options.idleTimeoutMs) session.setTimeout(this.#options.idleTimeoutMs, () => session.close());
    this.#sessions.set(target.key, session);
    return session;
  }

  /** Whether the session ever completed its handshake (a stream failing before that never reached the peer). */
  connected(session: http2.ClientHttp2Session): boolean {
    return this.#connected.has(session);
  }

  #forget(key: string, session: http2.ClientHttp2Session): void {
    if (this.#sessions.get(key) === session) this.#sessions.delete(key);
  }

  /** A pooled HTTP/1.1 connection to `target` (idle, or new and still connecting). */
  h1(target: PeerTarget): H1ClientConnection {
    const idle = this.#h1Idle.take(target.key);
    if (idle) return idle;
    const socket = this.#connectTls(target, ALPN_H1);
    const conn = new H1ClientConnection(socket, (c) => (this.#closing ? c.socket.destroy() : this.#h1Idle.put(target.key, c)), this.#options.idleTimeoutMs ?? 90_000);
    this.#h1All.add(conn);
    socket.once("secureConnect", () => this.#h1Secured.add(conn));
    socket.once("close", () => {
      this.#h1All.delete(conn);
      this.#h1Idle.forget(target.key, conn);
    });
    return conn;
  }

  /** Whether the connection ever completed its handshake (a request failing before that never reached the peer). */
  h1Connected(conn: H1ClientConnection): boolean {
    return this.#h1Secured.has(conn);
  }

  /** A fresh TLS connection for one opaque stream; half-open, so that either side's end (close_notify, then FIN) leaves the other direction flowing. */
  opaque(target: PeerTarget): tls.TLSSocket {
    return this.#connectTls(target, ALPN_OPAQUE, true);
  }

  /** Graceful close: GOAWAY on every session; open streams finish. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#h1Idle.destroyAll();
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map((s) => new Promise<void>((resolve) => (s.closed ? resolve() : s.close(() => resolve())))));
  }

  get closing(): boolean {
    return this.#closing;
  }
}
