// The inbound side: mTLS from other proxies is terminated here, the peer's
// SPIFFE id is checked against policy and handed to the app in a header, and
// the request or byte stream goes to the app on localhost. Plaintext from
// outside the pod passes only in permissive mode (or on plaintext ports).
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import type { Logger } from "../../../lib/log.ts";
import { spiffeIdOfSan } from "../../../lib/spiffe.ts";
import type { InboundPolicy__Output } from "../../../api/gen/weft/discovery/v1/InboundPolicy.ts";
import type { AppForwarder } from "./app-forward.ts";
import type { CredentialsSource } from "../identity/credentials-source.ts";
import { H2Downstream, type Downstream } from "../http/downstream.ts";
import { FramedH1Connection } from "../http1/server-connection.ts";
import { detectFirstBytes, splice } from "../http/first-bytes.ts";
import { WEFT_CLIENT_ID, WEFT_PROTO, observableHeaders } from "../http/headers.ts";
import { fieldValue, fieldsOf, isGrpcRequest, type OutgoingFields } from "../http/request.ts";
import { ObservedProxyRequest } from "../http/observed-request.ts";
import { recordRequest, statusClass, type ProxyMetrics } from "../admin/metrics.ts";
import { ALPN_H1, ALPN_H2, ALPN_OPAQUE, classifyTlsError } from "../identity/mesh-tls.ts";
import type { AttemptScope, RequestObserver } from "../http/request-observer.ts";

export interface InboundOptions {
  credentials: CredentialsSource;
  app: AppForwarder;
  appHost: string;
  metrics: ProxyMetrics;
  logger: Logger;
  observer: RequestObserver;
  policy: () => InboundPolicy__Output | undefined;
  detectTimeoutMs: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  maxHeaderBytes: number;
  now: () => number;
}

interface Peer {
  appPort: number;
  identity: string;
}

export class InboundProxy {
  readonly #o: InboundOptions;
  readonly #tls: tls.Server;
  readonly #h2: http2.Http2Server;
  readonly #appPorts = new WeakMap<net.Socket, number>();
  readonly #peers = new WeakMap<object, Peer>();
  #pendingPeer: Peer | undefined;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #sockets = new Set<net.Socket>();
  readonly #framed = new Set<FramedH1Connection>();
  #draining = false;

  constructor(options: InboundOptions) {
    this.#o = options;
    this.#tls = tls.createServer({
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: [ALPN_H2, ALPN_H1, ALPN_OPAQUE],
      handshakeTimeout: options.handshakeTimeoutMs,
      minVersion: "TLSv1.2",
    });
    const material = options.credentials.current();
    if (material) this.#tls.setSecureContext(material.credentials.certChainPem ? { key: material.credentials.keyPem, cert: material.credentials.certChainPem, ca: material.credentials.anchorsPem } : {});
    options.credentials.onChange((m) => this.#tls.setSecureContext({ key: m.credentials.keyPem, cert: m.credentials.certChainPem, ca: m.credentials.anchorsPem }));
    this.#tls.on("tlsClientError", (err: Error & { code?: string }, socket: tls.TLSSocket) => {
      options.metrics.tlsHandshakeFailures.inc({ direction: "inbound", reason: classifyTlsError(err) });
      options.logger.debug({ err: err.message }, "inbound TLS handshake failed");
      socket.destroy();
    });
    this.#tls.on("secureConnection", (socket: tls.TLSSocket) => this.#secure(socket));
    this.#h2 = http2.createServer({ maxSessionMemory: 64, settings: { initialWindowSize: 1 << 20, maxHeaderListSize: options.maxHeaderBytes } });
    this.#h2.on("session", (session: http2.ServerHttp2Session) => {
      if (this.#pendingPeer) this.#peers.set(session, this.#pendingPeer);
      this.#sessions.add(session);
      session.on("error", () => {});
      session.once("close", () => this.#sessions.delete(session));
      session.on("connect", () => session.setLocalWindowSize(8 << 20));
      session.setTimeout(options.idleTimeoutMs, () => session.close());
    });
    this.#h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => this.#stream(stream, headers, rawHeaders));
  }

  /** Takes a connection for the app's port `appPort` (the original destination port, or a fixed mapping). */
  accept(socket: net.Socket, appPort: number): void {
    socket.setNoDelay(true);
    socket.on("error", () => {});
    this.#sockets.add(socket);
    this.#o.metrics.tcpOpen.inc({ direction: "inbound" });
    socket.once("close", () => {
      this.#sockets.delete(socket);
      this.#o.metrics.tcpOpen.dec({ direction: "inbound" });
    });
    this.#appPorts.set(socket, appPort);
    detectFirstBytes(socket, this.#o.detectTimeoutMs, (protocol) => {
      this.#o.metrics.tcpConnections.inc({ direction: "inbound", protocol });
      if (protocol === "closed") return;
      if (protocol === "tls") {
        this.#tls.emit("connection", socket);
        return;
      }
      const policy = this.#o.policy();
      const permissive = policy?.mode === "PERMISSIVE" || (policy?.plaintextPorts ?? []).includes(appPort);
      if (permissive) {
        splice(socket, net.connect({ host: this.#o.appHost, port: appPort, noDelay: true }));
        return;
      }
      this.#o.metrics.plaintextRefused.inc({ reason: protocol === "http1" || protocol === "h2" ? "strict-http" : "strict-tcp" });
      if (protocol === "http1") {
        socket.end("HTTP/1.1 403 Forbidden\r\nweft-error: plaintext-refused\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
        socket.destroySoon();
      } else {
        socket.destroy();
      }
    });
  }

  #secure(socket: tls.TLSSocket): void {
    socket.setNoDelay(true);
    socket.on("error", () => {});
    const raw = (socket as unknown as { _parent?: net.Socket })._parent;
    const appPort = raw ? this.#appPorts.get(raw) : undefined;
    const id = spiffeIdOfSan(socket.getPeerCertificate().subjectaltname);
    const allowed = this.#o.policy()?.allowedIdentities ?? [];
    if (appPort === undefined || !id.ok || (allowed.length > 0 && !allowed.includes(id.value))) {
      this.#o.metrics.tlsHandshakeFailures.inc({ direction: "inbound", reason: id.ok ? "identity-not-allowed" : "no-spiffe-id" });
      socket.destroy();
      return;
    }
    const peer: Peer = { appPort, identity: id.value };
    if (socket.alpnProtocol === ALPN_OPAQUE) {
      splice(socket, net.connect({ host: this.#o.appHost, port: appPort, noDelay: true }));
      return;
    }
    if (socket.alpnProtocol === ALPN_H1) {
      const conn = new FramedH1Connection(socket, {
        // Room for what the client-side proxy adds to a head the app sent at the limit (weft-proto, trace headers).
        maxHeaderBytes: this.#o.maxHeaderBytes + 4096,
        idleTimeoutMs: this.#o.idleTimeoutMs,
        isDraining: () => this.#draining,
        onRequest: (ds) => this.#request(ds, peer),
        // Peer proxies send only plain requests; anything else is not a Weft peer.
        fallback: (s) => s.destroy(),
        waitForHead: true,
      });
      this.#framed.add(conn);
      socket.once("close", () => this.#framed.delete(conn));
      return;
    }
    this.#pendingPeer = peer;
    this.#h2.emit("connection", socket);
    this.#pendingPeer = undefined;
  }

  #stream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): void {
    stream.on("error", () => {});
    const peer = this.#peers.get(stream.session as object);
    if (!peer) {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    this.#request(new H2Downstream(stream, headers, rawHeaders), peer);
  }

  /** One request from a peer proxy, whichever transport carried it, to the app in the protocol its client spoke. */
  #request(ds: Downstream, peer: Peer): void {
    const started = this.#o.now();
    const proto = fieldValue(ds.fields, WEFT_PROTO) === "h2" ? "h2" : "h1";
    const grpc = isGrpcRequest(ds.fields);
    const scope = this.#o.observer.onRequest(new ObservedProxyRequest("inbound", ds, proto, grpc, "", peer.identity));
    let fields = ds.fields;
    let checked = ds.fieldsChecked;
    let attemptScope: AttemptScope | undefined;
    if (scope?.onAttempt) {
      // The observer edits an object of the forwarded fields (it adds trace context); that object is what is sent.
      const headers = observableHeaders(ds.fields);
      attemptScope = scope.onAttempt({ attempt: 1, endpoint: `${this.#o.appHost}:${peer.appPort}`, headers });
      fields = fieldsOf(headers);
      checked = false;
    }
    const out: OutgoingFields = { fields, checked, addName: WEFT_CLIENT_ID, addValue: peer.identity };
    this.#o.app.forward(peer.appPort, proto, ds, out, (result) => {
      recordRequest(this.#o.metrics, "inbound", "", result.error && result.status >= 500 ? "5xx" : statusClass(result.status), result.grpcStatus, (this.#o.now() - started) / 1000);
      attemptScope?.onEnd?.(result);
      scope?.onEnd?.(result);
    });
  }

  /** GOAWAY to every peer session: they open new connections elsewhere; streams in flight finish. */
  drain(): void {
    this.#draining = true;
    for (const session of this.#sessions) session.close();
    for (const conn of this.#framed) conn.closeIfIdle();
  }

  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  get openConnections(): number {
    return this.#sockets.size;
  }
}
