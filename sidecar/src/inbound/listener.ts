// The inbound side: mTLS from other proxies is terminated here, the peer's
// SPIFFE id is checked against policy and handed to the app in a header, and
// the request or byte stream goes to the app on localhost. Plaintext from
// outside the pod passes only in permissive mode (or on plaintext ports).
//
// When the snapshot carries an Authorization (authz/inbound-authz.ts), it
// decides instead: plaintext is taken on a port only if the policy could admit
// a plaintext caller there, and then every HTTP request (whatever carried it,
// tunnels' heads included) and every opaque connection is evaluated before
// anything reaches the app. A refused request gets 403 (gRPC: status 7) and
// its connection stays open; a refused opaque connection is closed.
//
// weft-client-id is only ever this proxy's: every HTTP head it forwards, in
// whatever way it arrived (an h2 stream, a framed HTTP/1.1 request, an Upgrade
// or CONNECT request, HTTP sent on an opaque connection, HTTP from a plaintext
// caller), has the caller's weft-* fields dropped and the verified id added,
// or nothing for a plaintext caller. Only bytes that are not HTTP (or that
// follow a 101, or a 2xx to CONNECT) go to the app unparsed, and those get no
// identity at all.
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import type { Logger } from "../../../lib/log.ts";
import { parseSpiffeId, spiffeIdOfSan } from "../../../lib/spiffe.ts";
import { TLS_POLICY } from "../../../lib/tls-policy.ts";
import type { InboundPolicy__Output } from "../../../api/gen/weft/discovery/v1/InboundPolicy.ts";
import type { AppForwarder } from "./app-forward.ts";
import type { CredentialsSource } from "../identity/credentials-source.ts";
import { H1Downstream, H2Downstream, type Downstream } from "../http/downstream.ts";
import { FramedH1Connection } from "../http1/server-connection.ts";
import { detectFirstBytes, splice } from "../http/first-bytes.ts";
import { ServerFirstMemory } from "../http/server-first-memory.ts";
import { detectRacingServer, isHttp } from "../http/server-first.ts";
import { systemClock } from "../../../lib/clock.ts";
import { WEFT_CLIENT_ID, WEFT_PROTO, observableHeaders } from "../http/headers.ts";
import { fieldValue, fieldsOf, isGrpcRequest, type OutgoingFields } from "../http/request.ts";
import { ObservedProxyRequest } from "../http/observed-request.ts";
import { recordRequest, statusClass, type ProxyMetrics } from "../admin/metrics.ts";
import { ALPN_H1, ALPN_H2, ALPN_OPAQUE, classifyTlsError } from "../identity/mesh-tls.ts";
import { ALPN_TAP } from "../../../lib/tap-contract.ts";
import { relayUpgrade, sentHead } from "./upgrade.ts";
import { armHeaderTimeouts, clientErrorResponse, refuseRequest } from "../http/limits.ts";
import { fallbackRefusal, refusalStatus } from "../http1/refusals.ts";
import type { AttemptScope, RequestObserver } from "../http/request-observer.ts";
import type { AuthzRefusal, InboundAuthz } from "../authz/inbound-authz.ts";
import { httpAttributes } from "../authz/attributes.ts";
import { refuseByPolicy } from "./authz-refusal.ts";
import type { RequestHead } from "../http1/framer.ts";

export interface InboundOptions {
  credentials: CredentialsSource;
  app: AppForwarder;
  appHost: string;
  metrics: ProxyMetrics;
  logger: Logger;
  observer: RequestObserver;
  policy: () => InboundPolicy__Output | undefined;
  /** The snapshot's Authorization, when it has one; otherwise `policy`'s connection-level rules alone apply. */
  authz: InboundAuthz;
  detectTimeoutMs: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  maxHeaderBytes: number;
  now: () => number;
  /** The trust domain every peer must be in (default: the one in this proxy's own certificate). */
  trustDomain?: string;
  /** App ports whose server speaks first; default: a fresh memory on the system clock. */
  serverFirst?: ServerFirstMemory;
  /** Tap connections (ALPN weft.tap/1) from a verified peer in our trust domain, whatever the policy: the tap endpoint checks the id. */
  tap?: (socket: tls.TLSSocket, peerIdentity: string) => void;
}

interface Peer {
  appPort: number;
  /** The verified SPIFFE id; undefined for a plaintext caller, whose requests get no identity header at all. */
  identity: string | undefined;
  /** HTTP/2 that arrived on an opaque connection: no weft-proto says what the app speaks, and its client spoke h2. */
  h2App?: boolean;
}

/**
 * Why a verified peer certificate is still refused, if it is: no SPIFFE id, a
 * trust domain other than ours (another mesh's CA may chain to a shared root),
 * or an id the policy does not allow. Pure.
 */
export function peerRefusal(san: string | undefined, ownTrustDomain: string | undefined, allowed: readonly string[]): { ok: true; identity: string } | { ok: false; reason: string } {
  const id = spiffeIdOfSan(san);
  if (!id.ok) return { ok: false, reason: "no-spiffe-id" };
  const parsed = parseSpiffeId(id.value);
  if (!parsed.ok || ownTrustDomain === undefined || parsed.value.trustDomain !== ownTrustDomain) return { ok: false, reason: "foreign-trust-domain" };
  if (allowed.length > 0 && !allowed.includes(id.value)) return { ok: false, reason: "identity-not-allowed" };
  return { ok: true, identity: id.value };
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
  /** Plaintext HTTP/1.x the framer hands over (HTTP/1.0, Expect, Upgrade, CONNECT): a caller that is not a Weft proxy sends all of these. */
  readonly #plainH1: http.Server;
  readonly #plainPeers = new WeakMap<net.Socket, Peer>();
  #draining = false;
  readonly #serverFirst: ServerFirstMemory;

  constructor(options: InboundOptions) {
    this.#o = options;
    this.#serverFirst = options.serverFirst ?? new ServerFirstMemory({ clock: systemClock });
    this.#tls = tls.createServer({
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: options.tap ? [ALPN_H2, ALPN_H1, ALPN_OPAQUE, ALPN_TAP] : [ALPN_H2, ALPN_H1, ALPN_OPAQUE],
      handshakeTimeout: options.handshakeTimeoutMs,
      ...TLS_POLICY,
    });
    const material = options.credentials.current();
    if (material) this.#tls.setSecureContext(material.credentials.certChainPem ? { key: material.credentials.keyPem, cert: material.credentials.certChainPem, ca: material.credentials.anchorsPem, ...TLS_POLICY } : TLS_POLICY);
    options.credentials.onChange((m) => this.#tls.setSecureContext({ key: m.credentials.keyPem, cert: m.credentials.certChainPem, ca: m.credentials.anchorsPem, ...TLS_POLICY }));
    this.#tls.on("tlsClientError", (err: Error & { code?: string }, socket: tls.TLSSocket) => {
      options.metrics.tlsHandshakeFailures.inc({ direction: "inbound", reason: classifyTlsError(err) });
      options.logger.debug({ err: err.message }, "inbound TLS handshake failed");
      socket.destroy();
    });
    this.#tls.on("secureConnection", (socket: tls.TLSSocket) => this.#secure(socket));
    this.#h2 = http2.createServer({ maxSessionMemory: 64, settings: { initialWindowSize: 1 << 20, maxHeaderListSize: options.maxHeaderBytes, maxConcurrentStreams: 1000 } });
    this.#h2.on("session", (session: http2.ServerHttp2Session) => {
      if (this.#pendingPeer) this.#peers.set(session, this.#pendingPeer);
      this.#sessions.add(session);
      session.on("error", () => {});
      session.once("close", () => this.#sessions.delete(session));
      session.on("connect", () => session.setLocalWindowSize(8 << 20));
      session.setTimeout(options.idleTimeoutMs, () => session.close());
    });
    this.#h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => this.#stream(stream, headers, rawHeaders));
    this.#plainH1 = http.createServer({ noDelay: true, maxHeaderSize: options.maxHeaderBytes, keepAliveTimeout: options.idleTimeoutMs, requestTimeout: 0, headersTimeout: options.idleTimeoutMs, connectionsCheckingInterval: Math.min(1_000, options.idleTimeoutMs) });
    armHeaderTimeouts(this.#plainH1);
    // A client's FIN after its request (HTTP/1.0, socat -t) must not abort the response still on its way; not in node's types.
    Object.assign(this.#plainH1, { httpAllowHalfOpen: true });
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      const refused = fallbackRefusal(req.url ?? "/", req.rawHeaders);
      if (refused) return refuseRequest(res, refusalStatus(refused) ?? 400, refused, options.metrics, "inbound");
      const peer = this.#plainPeers.get(req.socket);
      if (peer) this.#request(new H1Downstream(req, res, this.#draining), peer);
      else res.destroy();
    };
    this.#plainH1.on("request", onRequest);
    // Expect: 100-continue goes on to the app, which answers 100 or refuses; node:http would say 100 itself.
    this.#plainH1.on("checkContinue", onRequest);
    const tunnel = (req: http.IncomingMessage, socket: net.Socket, head: Buffer): void => {
      const peer = this.#plainPeers.get(socket);
      if (!peer) {
        socket.destroy();
        return;
      }
      // Put back as sent, so the framer checks and rewrites this head exactly as it does a peer's.
      socket.unshift(Buffer.concat([sentHead(req), head]));
      this.#relay(socket, peer, options.maxHeaderBytes);
    };
    this.#plainH1.on("upgrade", tunnel);
    this.#plainH1.on("connect", tunnel);
    this.#plainH1.on("clientError", (err: Error & { code?: string }, socket: net.Socket) => clientErrorResponse(err, socket, options.metrics, "inbound"));
  }

  /**
   * Takes a connection for the app's port `appPort` (the original destination port, or a fixed mapping).
   * Undefined: it reached the listener directly, not redirected from an app port (the tap component
   * dials the inbound port itself); only a tap connection is served on it (#secure), nothing plaintext.
   */
  accept(socket: net.Socket, appPort: number | undefined): void {
    socket.setNoDelay(true);
    socket.on("error", () => {});
    this.#sockets.add(socket);
    this.#o.metrics.tcpOpen.inc({ direction: "inbound" });
    socket.once("close", () => {
      this.#sockets.delete(socket);
      this.#o.metrics.tcpOpen.dec({ direction: "inbound" });
    });
    if (appPort !== undefined) this.#appPorts.set(socket, appPort);
    detectFirstBytes(socket, this.#o.detectTimeoutMs, (protocol) => {
      this.#o.metrics.tcpConnections.inc({ direction: "inbound", protocol });
      if (protocol === "closed") return;
      if (protocol === "tls") {
        this.#tls.emit("connection", socket);
        return;
      }
      if (appPort === undefined) {
        socket.destroy();
        return;
      }
      const policy = this.#o.policy();
      const authz = this.#o.authz;
      const permissive = authz.active ? authz.plaintextAccepted(appPort) : policy?.mode === "PERMISSIVE" || (policy?.plaintextPorts ?? []).includes(appPort);
      if (permissive) {
        this.#plaintext(socket, protocol, { appPort, identity: undefined });
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
    const ownTrustDomain = this.#o.trustDomain ?? trustDomainOf(this.#o.credentials.current()?.spiffeId);
    if (socket.alpnProtocol === ALPN_TAP && this.#o.tap) {
      // Not traffic to the app: the policy's allowed identities do not apply, the tap endpoint's own check does.
      const caller = peerRefusal(socket.getPeerCertificate().subjectaltname, ownTrustDomain, []);
      if (caller.ok) this.#o.tap(socket, caller.identity);
      else socket.destroy();
      return;
    }
    // Under an Authorization, who may call is decided per request; the trust domain still bounds who may connect.
    const allowed = this.#o.authz.active ? [] : (this.#o.policy()?.allowedIdentities ?? []);
    const checked = peerRefusal(socket.getPeerCertificate().subjectaltname, ownTrustDomain, allowed);
    if (appPort === undefined || !checked.ok) {
      const reason = checked.ok ? "no-app-port" : checked.reason;
      this.#o.metrics.tlsHandshakeFailures.inc({ direction: "inbound", reason });
      this.#o.logger.warn({ reason, peerSan: socket.getPeerCertificate().subjectaltname ?? null }, "inbound peer refused");
      socket.destroy();
      return;
    }
    const peer: Peer = { appPort, identity: checked.identity };
    if (socket.alpnProtocol === ALPN_OPAQUE) this.#opaque(socket, peer);
    else if (socket.alpnProtocol === ALPN_H1) this.#h1(socket, peer);
    else this.#h2Session(socket, peer);
  }

  /**
   * A caller without mTLS: nothing about it is verified, so its HTTP gets no
   * identity header, and is parsed like a peer's so that no weft-* field it
   * wrote reaches the app. Anything that is not HTTP goes through untouched.
   */
  #plaintext(socket: net.Socket, protocol: "http1" | "h2" | "opaque", peer: Peer): void {
    if (protocol === "http1") this.#h1(socket, peer);
    else if (protocol === "h2") this.#h2Session(socket, { ...peer, h2App: true });
    else if (this.#opaqueAdmitted(peer)) splice(socket, net.connect({ host: this.#o.appHost, port: peer.appPort, noDelay: true, allowHalfOpen: true }));
    else socket.destroy();
  }

  /** Opaque TCP is decided once, for the whole connection, on port and caller alone. */
  #opaqueAdmitted(peer: Peer): boolean {
    return this.#o.authz.authorize({ port: peer.appPort, peer: peer.identity ?? null }) === null;
  }

  /**
   * An opaque stream (an opaque port, an undetected protocol, an upgrade, or a
   * peer's own choice) is looked at before it is passed on: HTTP in it is
   * served as HTTP, so no head reaches the app unparsed; anything else goes
   * through untouched and without identity.
   */
  #opaque(socket: tls.TLSSocket, peer: Peer): void {
    const key = String(peer.appPort);
    if (this.#serverFirst.remembers(key)) {
      this.#opaqueServerFirst(socket, peer, key);
      return;
    }
    detectFirstBytes(socket, this.#o.detectTimeoutMs, (protocol, clientSpoke) => {
      if (protocol === "opaque" && !clientSpoke && this.#serverFirst.learn(key)) {
        this.#o.metrics.serverFirstLearned.inc({ direction: "inbound" });
        this.#o.logger.info({ appPort: peer.appPort }, "app port learned as server-speaks-first; later connections dial it before detection");
      }
      if (protocol === "closed") return;
      if (protocol === "http1") this.#h1(socket, peer);
      else if (protocol === "h2") this.#h2Session(socket, { ...peer, h2App: true });
      else if (this.#opaqueAdmitted(peer)) splice(socket, net.connect({ host: this.#o.appHost, port: peer.appPort, noDelay: true, allowHalfOpen: true }));
      else socket.destroy();
    });
  }

  /** The app spoke first last time: it is dialled at once, and whichever side sends first decides. */
  #opaqueServerFirst(socket: tls.TLSSocket, peer: Peer, key: string): void {
    this.#o.metrics.detectionSkipped.inc({ direction: "inbound" });
    const app = net.connect({ host: this.#o.appHost, port: peer.appPort, noDelay: true });
    app.on("error", () => {});
    detectRacingServer(socket, app, this.#o.detectTimeoutMs, (protocol) => {
      if (protocol === "closed" || isHttp(protocol)) app.destroy();
      if (isHttp(protocol)) this.#serverFirst.forget(key);
      if (protocol === "http1") this.#h1(socket, peer);
      else if (protocol === "h2") this.#h2Session(socket, { ...peer, h2App: true });
      else if (protocol !== "closed") {
        // Decided only now, as the caller may yet speak HTTP (decided per request); the app's banner is
        // still held here, so a refused caller has seen nothing of it.
        if (app.destroyed || !this.#opaqueAdmitted(peer)) {
          app.destroy();
          socket.destroy();
        } else splice(socket, app);
      }
    });
  }

  #h1(socket: net.Socket, peer: Peer): void {
    const plaintext = peer.identity === undefined;
    // Room for what the client-side proxy adds to a head the app sent at the limit (weft-proto, trace headers).
    const maxHeaderBytes = plaintext ? this.#o.maxHeaderBytes : this.#o.maxHeaderBytes + 4096;
    const conn = new FramedH1Connection(socket, {
      maxHeaderBytes,
      idleTimeoutMs: this.#o.idleTimeoutMs,
      isDraining: () => this.#draining,
      onRequest: (ds) => this.#request(ds, peer),
      onRefused: (reason) => this.#o.metrics.inputErrors.inc({ direction: "inbound", reason }),
      // What the framer will not serve. A peer proxy sends only plain requests and tunnels (Upgrade, CONNECT),
      // relayed with the head rewritten; a plaintext caller may send anything node:http serves.
      fallback: (s) => {
        this.#framed.delete(conn);
        if (!plaintext) {
          this.#relay(s, peer, maxHeaderBytes);
          return;
        }
        this.#plainPeers.set(s, peer);
        this.#plainH1.emit("connection", s);
        s.resume();
      },
      waitForHead: !plaintext,
      peerHop: !plaintext,
    });
    this.#framed.add(conn);
    socket.once("close", () => this.#framed.delete(conn));
  }

  #relay(socket: net.Socket, peer: Peer, maxHeaderBytes: number): void {
    const authorize = (head: RequestHead): AuthzRefusal | null =>
      this.#o.authz.authorize({ port: peer.appPort, peer: peer.identity ?? null, http: httpAttributes(head.method, head.target, head.authority, fieldValue(head.fields, "content-type")) });
    relayUpgrade(socket, { host: this.#o.appHost, port: peer.appPort, identity: peer.identity, maxHeaderBytes, authorize }, (reason) => {
      this.#o.metrics.inputErrors.inc({ direction: "inbound", reason });
    });
  }

  #h2Session(socket: net.Socket, peer: Peer): void {
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
    this.#request(new H2Downstream(stream, headers, rawHeaders, peer.identity !== undefined), peer);
  }

  /** One request from a peer proxy, whichever transport carried it, to the app in the protocol its client spoke. */
  #request(ds: Downstream, peer: Peer): void {
    if (this.#o.authz.active) {
      const refusal = this.#o.authz.authorize({ port: peer.appPort, peer: peer.identity ?? null, http: httpAttributes(ds.method, ds.path, ds.authority, fieldValue(ds.fields, "content-type")) });
      if (refusal) {
        const grpc = isGrpcRequest(ds.fields);
        const denied = this.#o.observer.onRequest(new ObservedProxyRequest("inbound", ds, ds.proto, grpc, "", peer.identity ?? "", undefined, "deny"));
        refuseByPolicy(ds, refusal, grpc);
        denied?.onEnd?.(grpc ? { status: 200, grpcStatus: 7, error: "authz-denied" } : { status: 403, error: "authz-denied" });
        return;
      }
    }
    if (ds.method === "CONNECT") {
      // Only an HTTP/2 CONNECT gets here (HTTP/1.1 ones are relayed as tunnels); the proxy has no way to carry it.
      ds.respond(405, { "weft-error": "connect-refused", "content-length": "0" }, true);
      return;
    }
    const started = this.#o.now();
    // weft-proto is a peer proxy's word; from a plaintext caller it is one more forged weft-* field.
    const proto = peer.h2App === true || (peer.identity !== undefined && fieldValue(ds.fields, WEFT_PROTO) === "h2") ? "h2" : "h1";
    const grpc = isGrpcRequest(ds.fields);
    const scope = this.#o.observer.onRequest(new ObservedProxyRequest("inbound", ds, proto, grpc, "", peer.identity ?? "", undefined, this.#o.authz.active ? "allow" : undefined));
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
    const out: OutgoingFields = peer.identity === undefined ? { fields, checked } : { fields, checked, addName: WEFT_CLIENT_ID, addValue: peer.identity };
    this.#o.app.forward(peer.appPort, proto, ds, out, (result) => {
      recordRequest(this.#o.metrics, "inbound", "", result.error && result.status >= 500 ? "5xx" : statusClass(result.status), result.grpcStatus, (this.#o.now() - started) / 1000, "", peer.identity ?? "", this.#o.credentials.current()?.spiffeId ?? "", peer.identity !== undefined);
      attemptScope?.onEnd?.(result);
      scope?.onEnd?.(result);
    });
  }

  /** GOAWAY to every peer session: they open new connections elsewhere; streams in flight finish. */
  drain(): void {
    this.#draining = true;
    for (const session of this.#sessions) session.close();
    for (const conn of this.#framed) conn.closeIfIdle();
    this.#plainH1.closeIdleConnections();
  }

  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  get openConnections(): number {
    return this.#sockets.size;
  }
}

function trustDomainOf(spiffeId: string | undefined): string | undefined {
  if (spiffeId === undefined) return undefined;
  const parsed = parseSpiffeId(spiffeId);
  return parsed.ok ? parsed.value.trustDomain : undefined;
}
