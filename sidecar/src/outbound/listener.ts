// The outbound side: connections the app opens (captured by iptables, or sent
// to a fixed local listener) are matched to a Service, then proxied as HTTP
// (balanced, retried, over mTLS to the peer's proxy), as opaque TCP over
// mTLS, or passed through as plain TCP when the destination is not meshed.
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { Logger } from "../../../lib/log.ts";
import type { Result } from "../../../lib/result.ts";
import { pick } from "./balancer-p2c-ewma.ts";
import { H1Downstream, H2Downstream, type Downstream } from "../http/downstream.ts";
import { detectFirstBytes, splice } from "../http/first-bytes.ts";
import { ServerFirstMemory } from "../http/server-first-memory.ts";
import { watchForHttp } from "../http/server-first.ts";
import { systemClock } from "../../../lib/clock.ts";
import { FramedH1Connection } from "../http1/server-connection.ts";
import { forwardOutbound } from "./http.ts";
import { forwardRouted, type RoutingContext } from "./route-request.ts";
import { sendProxyError, type OutboundHttpContext } from "./call.ts";
import { isGrpcRequest } from "../http/request.ts";
import { ObservedProxyRequest } from "../http/observed-request.ts";
import type { MeshView, MeshCall } from "../discovery/mesh-view.ts";
import type { ProxyMetrics } from "../admin/metrics.ts";
import type { PeerPool } from "./peer-pool.ts";
import type { RequestObserver } from "../http/request-observer.ts";
import { armHeaderTimeouts, clientErrorResponse, refuseRequest } from "../http/limits.ts";
import { fallbackRefusal, refusalStatus } from "../http1/refusals.ts";

export type Destination = { address: string; port: number };
export type DestinationResolver = (socket: net.Socket) => Result<Destination>;

export interface OutboundOptions {
  view: MeshView;
  http: OutboundHttpContext;
  pool: PeerPool;
  metrics: ProxyMetrics;
  logger: Logger;
  observer: RequestObserver;
  detectTimeoutMs: number;
  opaquePorts: ReadonlySet<number>;
  maxHeaderBytes: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  isDraining: () => boolean;
  /** Destinations (Service:port) whose server speaks first; default: a fresh memory on the system clock. */
  serverFirst?: ServerFirstMemory;
}

export class OutboundProxy {
  readonly #o: OutboundOptions;
  readonly #h1: http.Server;
  readonly #h2: http2.Http2Server;
  readonly #destinations = new WeakMap<object, Destination>();
  #pendingDestination: Destination | undefined;
  readonly #sockets = new Set<net.Socket>();
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #framed = new Set<FramedH1Connection>();
  readonly #serverFirst: ServerFirstMemory;
  readonly #routing: RoutingContext;

  constructor(options: OutboundOptions) {
    this.#o = options;
    this.#serverFirst = options.serverFirst ?? new ServerFirstMemory({ clock: systemClock });
    this.#routing = { view: options.view, http: options.http, observer: options.observer };
    this.#h1 = http.createServer({ noDelay: true, maxHeaderSize: options.maxHeaderBytes, keepAliveTimeout: options.idleTimeoutMs, requestTimeout: 0, headersTimeout: options.headersTimeoutMs, connectionsCheckingInterval: Math.min(1_000, options.headersTimeoutMs) });
    armHeaderTimeouts(this.#h1);
    // A client's FIN after its request (HTTP/1.0, socat -t) must not abort the response still on its way; not in node's types.
    Object.assign(this.#h1, { httpAllowHalfOpen: true });
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      const refused = fallbackRefusal(req.url ?? "/", req.rawHeaders);
      if (refused) return refuseRequest(res, refusalStatus(refused) ?? 400, refused, options.metrics, "outbound");
      const dest = this.#destinations.get(req.socket);
      if (dest) this.#http(new H1Downstream(req, res, options.isDraining()), dest);
      else res.destroy();
    };
    this.#h1.on("request", onRequest);
    // Expect: 100-continue goes on to the app, which answers 100 or refuses; node:http would say 100 itself.
    this.#h1.on("checkContinue", onRequest);
    this.#h1.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => this.#upgrade(req, socket, head));
    // CONNECT to a meshed service (an HTTP forward proxy such as squid) goes the same way; the server proxy rewrites its head.
    this.#h1.on("connect", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => this.#upgrade(req, socket, head));
    this.#h1.on("clientError", (err: Error & { code?: string }, socket: net.Socket) => clientErrorResponse(err, socket, options.metrics, "outbound"));
    this.#h2 = http2.createServer({ maxSessionMemory: 64, settings: { initialWindowSize: 1 << 20, maxHeaderListSize: options.maxHeaderBytes, maxConcurrentStreams: 1000 } });
    this.#h2.on("session", (session: http2.ServerHttp2Session) => {
      if (this.#pendingDestination) this.#destinations.set(session, this.#pendingDestination);
      session.on("error", () => {});
      this.#sessions.add(session);
      session.once("close", () => this.#sessions.delete(session));
      session.setTimeout(options.idleTimeoutMs, () => session.close());
    });
    this.#h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
      stream.on("error", () => {});
      const dest = this.#destinations.get(stream.session as object);
      if (dest) this.#http(new H2Downstream(stream, headers, rawHeaders), dest);
      else stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    });
  }

  /** Takes a connection whose original destination is `dest`. */
  accept(socket: net.Socket, dest: Destination): void {
    socket.setNoDelay(true);
    socket.on("error", () => {});
    this.#sockets.add(socket);
    this.#o.metrics.tcpOpen.inc({ direction: "outbound" });
    socket.once("close", () => {
      this.#sockets.delete(socket);
      this.#o.metrics.tcpOpen.dec({ direction: "outbound" });
    });
    const call = this.#o.view.call(dest.address, dest.port);
    if (!call) {
      this.#o.metrics.tcpConnections.inc({ direction: "outbound", protocol: "passthrough" });
      this.#passthrough(socket, dest);
      return;
    }
    if (call.opaque || this.#o.opaquePorts.has(dest.port)) {
      this.#o.metrics.tcpConnections.inc({ direction: "outbound", protocol: "opaque" });
      this.#opaque(socket, call, undefined);
      return;
    }
    // The server spoke first last time: opaque at once, and forgotten if the client's bytes are HTTP after all.
    const key = `${call.service}:${dest.port}`;
    if (this.#serverFirst.remembers(key)) {
      this.#o.metrics.detectionSkipped.inc({ direction: "outbound" });
      this.#o.metrics.tcpConnections.inc({ direction: "outbound", protocol: "opaque" });
      watchForHttp(socket, () => this.#serverFirst.forget(key));
      this.#opaque(socket, call, undefined);
      return;
    }
    detectFirstBytes(socket, this.#o.detectTimeoutMs, (protocol, clientSpoke) => {
      this.#o.metrics.tcpConnections.inc({ direction: "outbound", protocol });
      if (protocol === "opaque" && !clientSpoke && this.#serverFirst.learn(key)) {
        this.#o.metrics.serverFirstLearned.inc({ direction: "outbound" });
        this.#o.logger.info({ destination: key }, "destination learned as server-speaks-first; later connections skip detection");
      }
      if (protocol === "closed") return;
      if (protocol === "http1") this.#framedHttp1(socket, dest); else if (protocol === "h2") {
        this.#pendingDestination = dest;
        this.#h2.emit("connection", socket);
        this.#pendingDestination = undefined;
      } else {
        this.#opaque(socket, call, undefined);
      }
    });
  }

  /** HTTP/1.1 through the framer; node:http takes over the connections it will not frame. */
  #framedHttp1(socket: net.Socket, dest: Destination): void {
    const o = this.#o;
    const conn = new FramedH1Connection(socket, {
      maxHeaderBytes: o.maxHeaderBytes,
      idleTimeoutMs: o.idleTimeoutMs,
      isDraining: o.isDraining,
      onRequest: (ds) => this.#http(ds, dest),
      onRefused: (reason) => o.metrics.inputErrors.inc({ direction: "outbound", reason }),
      fallback: (s) => {
        this.#framed.delete(conn);
        this.#destinations.set(s, dest);
        this.#h1.emit("connection", s);
        s.resume();
      },
    });
    this.#framed.add(conn);
    socket.once("close", () => this.#framed.delete(conn));
  }

  #passthrough(socket: net.Socket, dest: Destination): void {
    const upstream = net.connect({ host: dest.address, port: dest.port, noDelay: true, allowHalfOpen: true });
    this.#countBytes(socket);
    splice(socket, upstream);
  }

  #countBytes(socket: net.Socket): void {
    socket.once("close", () => {
      this.#o.metrics.tcpBytes.inc({ direction: "outbound", flow: "read" }, socket.bytesRead);
      this.#o.metrics.tcpBytes.inc({ direction: "outbound", flow: "written" }, socket.bytesWritten);
    });
  }

  /** Opaque bytes over mTLS to one endpoint's proxy; a failed connect tries another endpoint. */
  #opaque(socket: net.Socket, call: MeshCall, preamble: Buffer | undefined, tried = new Set<string>()): void {
    const ctx = this.#o.http;
    const endpoint = pick(call.endpoints, ctx.state.loads, { zone: ctx.zone, minZoneEndpoints: ctx.minZoneEndpoints, exclude: tried }, ctx.rng, ctx.now());
    if (!endpoint || tried.has(endpoint.key) || socket.destroyed) {
      socket.destroy();
      return;
    }
    tried.add(endpoint.key);
    const started = ctx.now();
    ctx.state.start(endpoint.key);
    const upstream = this.#o.pool.opaque(endpoint.target);
    const onFail = (): void => {
      ctx.state.finish(call.service, endpoint.key, { ok: false, rttMs: ctx.now() - started }, ctx.now());
      if (tried.size <= call.policy.retry.maxRetries) this.#opaque(socket, call, preamble, tried);
      else socket.destroy();
    };
    upstream.once("error", onFail);
    upstream.once("secureConnect", () => {
      upstream.off("error", onFail);
      ctx.state.finish(call.service, endpoint.key, { ok: true, rttMs: ctx.now() - started }, ctx.now());
      if (preamble) upstream.write(preamble);
      this.#countBytes(socket);
      splice(socket, upstream);
    });
  }

  #http(ds: Downstream, dest: Destination): void {
    const call = this.#o.view.call(dest.address, dest.port);
    const grpc = isGrpcRequest(ds.fields);
    if (!call) {
      sendProxyError(ds, grpc, 503, "no-route");
      return;
    }
    if (ds.method === "CONNECT") {
      // Only an HTTP/2 CONNECT gets here (an HTTP/1.1 one is a tunnel, #upgrade); a request stream cannot carry it.
      sendProxyError(ds, grpc, 405, "connect-refused");
      return;
    }
    // A Service with routes (GAMMA) decides first; without, nothing is looked up.
    if (call.routes !== undefined && forwardRouted(this.#routing, ds, call, grpc)) return;
    const scope = this.#o.observer.onRequest(new ObservedProxyRequest("outbound", ds, ds.proto, grpc, call.service, ""));
    forwardOutbound(this.#o.http, ds, { service: call.service, endpoints: call.endpoints, policy: call.policy, scope, grpc, route: "", attemptTimeoutMs: 0 });
  }

  /** HTTP/1.1 Upgrade (WebSocket) or CONNECT: the request head and everything after it go opaque to one endpoint. */
  #upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const dest = this.#destinations.get(req.socket) ?? this.#destinations.get(socket);
    const call = dest ? this.#o.view.call(dest.address, dest.port) : undefined;
    if (!call) {
      socket.destroy();
      return;
    }
    const lines = [`${req.method ?? "GET"} ${req.url ?? "/"} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    const preamble = Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), head]);
    this.#o.metrics.tcpConnections.inc({ direction: "outbound", protocol: "upgrade" });
    this.#opaque(socket, call, preamble);
  }

  /** Stop taking new requests on kept-alive connections; in-flight ones finish. */
  drain(): void {
    this.#h1.closeIdleConnections();
    for (const conn of this.#framed) conn.closeIfIdle();
    for (const session of this.#sessions) if (!session.closed) session.close();
  }

  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  get openConnections(): number {
    return this.#sockets.size;
  }
}
