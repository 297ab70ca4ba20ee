// Assembles one proxy from its parts: the mesh view, credentials, listeners,
// the admin server. Used by main.ts and by tests (several proxies per process).
import type * as http from "node:http";
import * as net from "node:net";
import { systemClock, type Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/log.ts";
import type { Result } from "../../lib/result.ts";
import { createAdminServer } from "./admin/server.ts";
import type { AppProbe } from "./admin/app-probe.ts";
import { AppForwarder } from "./inbound/app-forward.ts";
import type { BreakerConfig } from "./outbound/circuit-breaker.ts";
import type { CredentialsSource } from "./identity/credentials-source.ts";
import type { TrustStatus } from "./identity/trust-watch.ts";
import { EndpointState } from "./outbound/endpoint-state.ts";
import { InboundProxy } from "./inbound/listener.ts";
import { InboundAuthz } from "./authz/inbound-authz.ts";
import type { MeshView } from "./discovery/mesh-view.ts";
import { createMetrics, type ProxyMetrics } from "./admin/metrics.ts";
import { registerStateMetrics } from "./admin/metrics-state.ts";
import { OutboundProxy, type Destination } from "./outbound/listener.ts";
import { PeerPool } from "./outbound/peer-pool.ts";
import { WEFT_VERSION } from "../../lib/weft-version.ts";
import { NO_OBSERVER, type RequestObserver } from "./http/request-observer.ts";
import { composeObservers } from "./http/observer-compose.ts";
import { TapHub } from "./tap/hub.ts";
import { serveTap } from "./tap/endpoint.ts";

export interface ProxyOptions {
  view: MeshView;
  credentials: CredentialsSource;
  /** Control-plane mode: what became of the pushed trust bundles (weft_proxy_trust_bundle_updates_total). */
  trust?: TrustStatus;
  logger: Logger;
  /** iptables mode: where a captured connection was going. */
  originalDestination?: (socket: net.Socket) => Result<Destination>;
  listenHost: string;
  /** 0 picks a free port; undefined disables the listener. */
  outboundPort?: number;
  inboundPort?: number;
  adminPort?: number;
  outboundBinds?: { listenPort: number; address: string; port: number }[];
  inboundApps?: { listenPort: number; appPort: number }[];
  zone?: string;
  opaquePorts?: ReadonlySet<number>;
  appHost?: string;
  appProbes?: Record<string, AppProbe>;
  detectTimeoutMs?: number;
  /** Slowloris bound: a client must send its request headers within this time (default 10 s). */
  headersTimeoutMs?: number;
  observer?: RequestObserver;
  /** Serve tap (ALPN weft.tap/1 on the inbound listener) to these SPIFFE ids only; unset: no tap, and the request path pays nothing for it. */
  tap?: { allowed: readonly string[]; clock?: Clock };
  metrics?: ProxyMetrics;
  breaker?: BreakerConfig;
  rng?: () => number;
  /** How HTTP/1.1 requests travel to peer proxies (default h1: pooled framed connections; docs/decisions.md). */
  peerTransport?: "h2" | "h1";
  /** The effective configuration /proxy-config/bootstrap shows (redacted there). */
  bootstrap?: () => unknown;
}

export interface RunningProxy {
  metrics: ProxyMetrics;
  /** Actual ports: outbound, inbound, admin, and per fixed mapping `outbound:<listenPort>` / `inbound:<listenPort>` as requested. */
  ports: Map<string, number>;
  /** Graceful: stop accepting, finish in-flight requests, close idle connections politely. */
  drain(deadlineMs?: number): Promise<void>;
}

function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

export async function startProxy(o: ProxyOptions): Promise<RunningProxy> {
  const metrics = o.metrics ?? createMetrics();
  registerStateMetrics(metrics.registry, o.credentials, o.view, Date.now, o.trust);
  const state = new EndpointState({ breaker: o.breaker, onEject: (service) => metrics.ejections.inc({ peer_service: service }) });
  o.view.onUpdate(() => state.retain(o.view.endpointKeys()));
  const pool = new PeerPool({ credentials: o.credentials, connectTimeoutMs: 1_000, metrics, logger: o.logger, idleTimeoutMs: 90_000 });
  let draining = false;
  const rng = o.rng ?? Math.random;
  const appHost = o.appHost ?? "127.0.0.1";
  // Tap: a source that returns at once while nobody taps, beside tracing behind the one observer seam.
  const tapHub = o.tap ? new TapHub({ clock: o.tap.clock ?? systemClock, ownIdentity: () => o.credentials.current()?.spiffeId ?? "" }) : undefined;
  const observer = composeObservers(o.observer ?? NO_OBSERVER, ...(tapHub ? [tapHub] : []));
  const tapAllowed = o.tap?.allowed ?? [];
  const outbound = new OutboundProxy({
    view: o.view,
    pool,
    metrics,
    logger: o.logger,
    observer,
    detectTimeoutMs: o.detectTimeoutMs ?? 300,
    opaquePorts: o.opaquePorts ?? new Set(),
    maxHeaderBytes: 16 * 1024,
    headersTimeoutMs: o.headersTimeoutMs ?? 10_000,
    idleTimeoutMs: 60_000,
    isDraining: () => draining,
    http: { pool, state, metrics, logger: o.logger, zone: o.zone ?? "", minZoneEndpoints: 2, rng, now: () => performance.now(), clock: systemClock, peerTransport: o.peerTransport ?? "h1" },
  });
  const app = new AppForwarder(appHost);
  const authz = new InboundAuthz({ metrics, logger: o.logger, clock: systemClock });
  // Compiled once per applied snapshot (the discovery client has already validated it); requests read the result.
  if (o.view.state) authz.apply(o.view.state.policy.inbound);
  o.view.onUpdate((s) => authz.apply(s.policy.inbound));
  const inbound = new InboundProxy({
    credentials: o.credentials,
    app,
    appHost,
    metrics,
    logger: o.logger,
    observer,
    policy: () => o.view.state?.policy.inbound ?? undefined,
    authz,
    tap: tapHub ? (socket, peer) => serveTap(socket, peer, { hub: tapHub, allowed: tapAllowed, logger: o.logger }) : undefined,
    detectTimeoutMs: o.detectTimeoutMs ?? 300,
    handshakeTimeoutMs: 10_000,
    idleTimeoutMs: 120_000,
    maxHeaderBytes: 16 * 1024,
    now: () => performance.now(),
  });

  const servers: net.Server[] = [];
  const ports = new Map<string, number>();
  const server = (handler: (socket: net.Socket) => void): net.Server => {
    // allowHalfOpen: a client's FIN (socat -t, HTTP/1.0) is passed on, and the answer still comes back.
    const s = net.createServer({ noDelay: true, pauseOnConnect: false, allowHalfOpen: true }, handler);
    s.on("error", (err) => o.logger.error({ err: err.message }, "listener error"));
    servers.push(s);
    return s;
  };

  if (o.outboundPort !== undefined) {
    const resolve = o.originalDestination;
    const s = server((socket) => {
      const dest = resolve ? resolve(socket) : undefined;
      if (!dest || !dest.ok) {
        metrics.inputErrors.inc({ direction: "outbound", reason: "no-original-destination" });
        socket.destroy();
        return;
      }
      outbound.accept(socket, dest.value);
    });
    ports.set("outbound", await listen(s, "127.0.0.1", o.outboundPort));
  }
  for (const bind of o.outboundBinds ?? []) {
    const s = server((socket) => outbound.accept(socket, { address: bind.address, port: bind.port }));
    ports.set(`outbound:${bind.listenPort}`, await listen(s, "127.0.0.1", bind.listenPort));
  }
  if (o.inboundPort !== undefined) {
    const resolve = o.originalDestination;
    const s = server((socket) => {
      const dest = resolve ? resolve(socket) : undefined;
      // Dialled at the inbound port itself (the inbound capture skips it): the tap component's
      // connections arrive so; the listener serves tap on them and refuses anything else.
      if (dest && !dest.ok && dest.code === "not-redirected" && tapHub) {
        inbound.accept(socket, undefined);
        return;
      }
      if (!dest || !dest.ok) {
        metrics.inputErrors.inc({ direction: "inbound", reason: "no-original-destination" });
        socket.destroy();
        return;
      }
      inbound.accept(socket, dest.value.port);
    });
    ports.set("inbound", await listen(s, o.listenHost, o.inboundPort));
  }
  for (const app of o.inboundApps ?? []) {
    const s = server((socket) => inbound.accept(socket, app.appPort));
    ports.set(`inbound:${app.listenPort}`, await listen(s, o.listenHost, app.listenPort));
  }
  let admin: http.Server | undefined;
  if (o.adminPort !== undefined) {
    admin = createAdminServer({ view: o.view, credentials: o.credentials, metrics, appProbes: o.appProbes ?? {}, appHost, isDraining: () => draining, proxyConfig: { loads: () => state.loads, bootstrap: o.bootstrap, proxyVersion: WEFT_VERSION } });
    ports.set("admin", await listen(admin, o.listenHost, o.adminPort));
  }

  return {
    metrics,
    ports,
    async drain(deadlineMs = 20_000): Promise<void> {
      draining = true;
      for (const s of servers) s.close();
      outbound.drain();
      inbound.drain();
      await pool.close().catch(() => {});
      const deadline = Date.now() + deadlineMs;
      // In-flight requests finish; connections whose client keeps them open past the deadline are cut.
      while (outbound.openConnections + inbound.openConnections > 0 && Date.now() < deadline) {
        outbound.drain();
        await new Promise((r) => setTimeout(r, 50));
      }
      outbound.destroyAll();
      inbound.destroyAll();
      app.close();
      if (admin) {
        admin.closeAllConnections();
        await new Promise<void>((r) => admin.close(() => r()));
      }
    },
  };
}
