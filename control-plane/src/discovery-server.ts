// The gRPC shell of the discovery service: authenticates each stream by the
// proxy's mTLS certificate, feeds its messages through the pure stream state
// machine (discovery-stream.ts), and writes the snapshots SnapshotVersions
// prepares. Model changes from the sources arrive through publish() and are
// coalesced by the debouncer; one encoded message is shared by every proxy of
// a scope group holding the same version.
import * as grpc from "@grpc/grpc-js";
import type { Tracer } from "@opentelemetry/api";
import { Registry } from "prom-client";
import { loadProto } from "../../api/load.ts";
import type { ProtoGrpcType } from "../../api/gen/discovery.ts";
import type { ProxyMessage__Output } from "../../api/gen/weft/discovery/v1/ProxyMessage.ts";
import type { Snapshot } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import { silentLogger, type Logger } from "../../lib/log.ts";
import { spiffeIdFromSubjectAltNameString } from "../../lib/spiffe.ts";
import { Debouncer, realTimers, type Timers } from "./discovery-debouncer.ts";
import { createDiscoveryMetrics, type DiscoveryMetrics } from "./discovery-metrics.ts";
import { initialStreamState, transition, type StreamAction, type StreamEvent, type StreamState } from "./discovery-stream.ts";
import type { MeshModel, ProxyIdentity } from "./mesh-state.ts";
import { scopeGroupKey } from "./snapshot-scope.ts";
import { SnapshotVersions, type PreparedSnapshot } from "./snapshot-versions.ts";

export interface DiscoveryTls {
  keyPem: string;
  certChainPem: string;
  /** Trust anchors that proxies' client certificates must chain to. */
  anchorsPem: string;
}

export interface DiscoveryServerOptions {
  host?: string;
  port?: number;
  /** PEMs, or ready-made credentials (for rotation through a certificate provider). Client certificates are required either way. */
  tls: DiscoveryTls | grpc.ServerCredentials;
  trustDomain: string;
  /** The first model, if known at start; without it proxies wait (never an empty push) until publish() is first called. */
  initialModel?: MeshModel;
  debounce?: { quietMs?: number; maxDelayMs?: number };
  /** NACKs (valid or not) allowed per stream per window before the stream is closed. */
  nackStorm?: { count?: number; windowMs?: number };
  /** Full snapshots (and deltas over 64 KiB) being written at once (default 8); bounds memory when many proxies connect together. */
  maxFullInFlight?: number;
  historyDepth?: number;
  logger?: Logger;
  registry?: Registry;
  timers?: Timers;
  /** Fixed epoch (tests); default: derived from the start time. */
  epoch?: string;
  /** A span per snapshot push (weft.discovery.push); without one, nothing is traced. */
  tracer?: Tracer;
}

export interface DiscoveryServer {
  port: number;
  /**
   * Hands the server the sources' current model, or a function that builds it (called once, when the
   * debounce window closes, so a source can report every event without rebuilding its model each time).
   */
  publish(model: MeshModel | (() => MeshModel)): void;
  /** Applies a pending model at once (tests, shutdown). */
  flushNow(): void;
  stats(): { streams: number; groups: number; version: number; fullInFlight: number; fullWaiting: number };
  metrics: DiscoveryMetrics;
  stop(graceMs?: number): Promise<void>;
}

interface Conn {
  id: number;
  call: grpc.ServerDuplexStream<ProxyMessage__Output, Snapshot | Buffer>;
  proxy: ProxyIdentity;
  group: string;
  state: StreamState;
  subscribed: boolean;
  /** Queued for a write slot (full snapshot or large delta); the message is prepared when the slot frees. */
  waitingForSlot: boolean;
}

const MALFORMED = Symbol("malformed");
const LARGE_MESSAGE_BYTES = 64 * 1024;

export async function startDiscoveryServer(options: DiscoveryServerOptions): Promise<DiscoveryServer> {
  const logger = (options.logger ?? silentLogger()).child({ component: "discovery" });
  // Scrape-time only; `subscribed` guarantees the group exists, so counting creates nothing.
  const streamsBehind = (): number => {
    let behind = 0;
    for (const conn of conns.values()) if (!conn.subscribed || conn.state.held !== versions?.currentVersion(conn.group)) behind++;
    return behind;
  };
  const metrics = createDiscoveryMetrics(options.registry ?? new Registry(), streamsBehind);
  const timers = options.timers ?? realTimers;
  const nackStormCount = options.nackStorm?.count ?? 20;
  const nackStormWindowMs = options.nackStorm?.windowMs ?? 10_000;
  const epoch = options.epoch ?? Date.now().toString(36);
  const conns = new Map<number, Conn>();
  let nextId = 1;
  let versions: SnapshotVersions | null = options.initialModel
    ? new SnapshotVersions(options.initialModel, { epoch, historyDepth: options.historyDepth })
    : null;
  let pendingModel: MeshModel | (() => MeshModel) | null = null;

  const definition = loadProto<ProtoGrpcType>("discovery.proto").weft.discovery.v1.Discovery.service;
  const method = definition.Stream;
  const encode = (value: Snapshot): Buffer => method.responseSerialize(value);
  const service: grpc.ServiceDefinition = {
    Stream: {
      ...method,
      // Prepared snapshots are encoded once and written as bytes to every stream that needs them.
      responseSerialize: (value: Snapshot | Buffer) => (Buffer.isBuffer(value) ? value : encode(value)),
      // A message that does not decode becomes a value the state machine refuses, not an exception.
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes);
        } catch {
          return MALFORMED;
        }
      },
    },
  };

  const maxFull = options.maxFullInFlight ?? 8;
  const fullSlots = { free: maxFull, waiting: [] as (() => void)[] };
  const acquireFull = (run: () => void) => {
    if (fullSlots.free > 0) {
      fullSlots.free--;
      run();
    } else fullSlots.waiting.push(run);
  };
  const releaseFull = () => {
    const next = fullSlots.waiting.shift();
    if (next) next();
    else fullSlots.free++;
  };

  const ctx = (conn: Conn) => ({
    current: versions ? versions.currentVersion(conn.group) : null,
    now: timers.now(),
    nackStormCount,
    nackStormWindowMs,
  });

  const step = (conn: Conn, event: StreamEvent) => {
    const { state, actions } = transition(conn.state, event, ctx(conn));
    conn.state = state;
    for (const action of actions) perform(conn, action);
  };

  const perform = (conn: Conn, action: StreamAction) => {
    switch (action.type) {
      case "hello":
        logger.info({ stream: conn.id, proxy: conn.proxy, workload: action.hello.workload, held: action.hello.heldVersion, proxyVersion: action.hello.proxyVersion }, "proxy subscribed");
        versions?.subscribe(conn.group);
        conn.subscribed = versions !== null;
        return;
      case "send":
        return send(conn, action.held);
      case "close":
        metrics.refused.inc({ reason: action.reason });
        logger.warn({ stream: conn.id, proxy: conn.proxy, reason: action.reason }, action.message);
        conn.call.emit("error", { code: grpc.status[action.code], details: `${action.reason}: ${action.message}` });
        return;
      case "count":
        if (action.event === "ack") metrics.acks.inc();
        else if (action.event === "nack") {
          metrics.nacks.inc();
          logger.warn({ stream: conn.id, proxy: conn.proxy, version: action.version, reason: action.detail }, "proxy refused version");
        } else {
          metrics.ignored.inc({ reason: action.event });
          logger.debug({ stream: conn.id, version: action.version, event: action.event }, "ignored stale message");
        }
        return;
    }
  };

  const send = (conn: Conn, held: string | null) => {
    if (!versions) return;
    const prepared: PreparedSnapshot = versions.prepare(conn.group, held);
    // Small deltas go straight out; full snapshots and large deltas (a burst that touched much of
    // the mesh) take a slot, because each stream holds its own framed copy until the proxy reads it.
    if (!prepared.full && prepared.encoded.length < LARGE_MESSAGE_BYTES) {
      write(conn, prepared);
      return;
    }
    // A stream waits for its slot holding no message: when the slot frees it gets what brings it
    // to its group's version at that moment (later changes of a burst ride along instead of
    // following as more large deltas), and a thousand waiting streams keep no stale bytes alive.
    if (conn.waitingForSlot) return;
    conn.waitingForSlot = true;
    acquireFull(() => {
      conn.waitingForSlot = false;
      if (conn.state.phase === "closed" || conn.call.cancelled || !versions) return releaseFull();
      let released = false;
      // The slot is held until the bytes are flushed (HTTP/2 flow control), the stream dies, or,
      // for a proxy too slow to read, a deadline passes: it must not hold up everyone else.
      const deadline = setTimeout(() => release(), 30_000);
      deadline.unref();
      const release = () => {
        if (released) return;
        released = true;
        clearTimeout(deadline);
        releaseFull();
      };
      write(conn, versions.prepare(conn.group, held), release);
    });
  };

  const write = (conn: Conn, prepared: PreparedSnapshot, flushed?: () => void) => {
    step(conn, { type: "sent", version: prepared.version, full: prepared.full });
    const bytes = prepared.encoded;
    metrics.pushes.inc({ kind: prepared.full ? "full" : "delta" });
    // Ends when the bytes are handed to the stream (large ones: when they flush).
    const span = options.tracer?.startSpan("weft.discovery.push", {
      attributes: {
        "weft.snapshot.version": prepared.version,
        "weft.snapshot.kind": prepared.full ? "full" : "delta",
        "weft.snapshot.bytes": bytes.length,
        "weft.proxy.namespace": conn.proxy.namespace,
        "weft.proxy.service_account": conn.proxy.serviceAccount,
        "weft.discovery.stream": conn.id,
      },
    });
    if (!flushed) {
      conn.call.write(bytes);
      span?.end();
      return;
    }
    let ended = false;
    const done = () => {
      if (!ended) span?.end();
      ended = true;
      flushed();
    };
    conn.call.write(bytes, done);
    conn.call.once("close", done);
    conn.call.once("cancelled", done);
    conn.call.once("error", done);
  };

  const applyModel = () => {
    const pending = pendingModel;
    if (!pending) return;
    pendingModel = null;
    const started = performance.now();
    let model: MeshModel;
    try {
      model = typeof pending === "function" ? pending() : pending;
    } catch (err) {
      logger.error({ err }, "building the mesh model failed; keeping the last version");
      return;
    }
    metrics.flushes.inc();
    if (!versions) {
      versions = new SnapshotVersions(model, { epoch, historyDepth: options.historyDepth });
      for (const conn of conns.values()) {
        if (conn.state.phase !== "active") continue;
        versions.subscribe(conn.group);
        conn.subscribed = true;
        step(conn, { type: "changed" });
      }
    } else {
      const changed = new Set(versions.update(model));
      for (const conn of conns.values()) if (changed.has(conn.group)) step(conn, { type: "changed" });
      logger.debug({ version: versions.sequence, changedGroups: changed.size }, "model applied");
    }
    metrics.flushSeconds.observe((performance.now() - started) / 1000);
  };

  const debouncer = new Debouncer({ quietMs: options.debounce?.quietMs ?? 100, maxDelayMs: options.debounce?.maxDelayMs ?? 1000, timers }, applyModel);

  const handleStream = (call: grpc.ServerDuplexStream<ProxyMessage__Output | typeof MALFORMED, Snapshot | Buffer>) => {
    const auth = call.getAuthContext();
    const identity = spiffeIdFromSubjectAltNameString(auth?.sslPeerCertificate?.subjectaltname);
    if (!identity.ok || identity.value.trustDomain !== options.trustDomain) {
      const reason = identity.ok ? `trust domain ${identity.value.trustDomain} is not ${options.trustDomain}` : identity.message;
      metrics.refused.inc({ reason: "unauthenticated" });
      logger.warn({ peer: call.getPeer(), reason }, "refused stream without a valid workload identity");
      call.emit("error", { code: grpc.status.UNAUTHENTICATED, details: `unauthenticated: ${reason}` });
      return;
    }
    const proxy: ProxyIdentity = { namespace: identity.value.namespace, serviceAccount: identity.value.serviceAccount };
    const conn: Conn = { id: nextId++, call: call as Conn["call"], proxy, group: scopeGroupKey(proxy), state: initialStreamState(), subscribed: false, waitingForSlot: false };
    conns.set(conn.id, conn);
    metrics.streams.inc();
    let closed = false;
    const cleanup = () => {
      if (closed) return;
      closed = true;
      conns.delete(conn.id);
      metrics.streams.dec();
      if (conn.subscribed) versions?.unsubscribe(conn.group);
      conn.state = { ...conn.state, phase: "closed" };
    };
    call.on("data", (message: ProxyMessage__Output | typeof MALFORMED) => {
      try {
        step(conn, { type: "message", message: message === MALFORMED ? null : message });
      } catch (err) {
        // A bug in our own code must cost one stream, never the server.
        logger.error({ err, stream: conn.id }, "discovery stream failed");
        call.emit("error", { code: grpc.status.INTERNAL, details: "internal error" });
      }
      if (conn.state.phase === "closed") cleanup();
    });
    call.on("end", () => {
      cleanup();
      call.end();
    });
    call.on("error", cleanup);
    call.on("close", cleanup);
    call.on("cancelled", cleanup);
  };

  const server = new grpc.Server({
    // Generous: a proxy busy decoding a large first snapshot must not be cut off and start over.
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.max_receive_message_length": 64 * 1024,
    // Nothing reads channelz; it keeps call counters and a trace per connection (1,000 proxies: 1,000 of them).
    "grpc.enable_channelz": 0,
    // A proxy opens one stream; more on one connection is a misbehaving client.
    "grpc.max_concurrent_streams": 4,
  });
  server.addService(service, { Stream: handleStream });
  const credentials = options.tls instanceof grpc.ServerCredentials
    ? options.tls
    : grpc.ServerCredentials.createSsl(Buffer.from(options.tls.anchorsPem), [
      { private_key: Buffer.from(options.tls.keyPem), cert_chain: Buffer.from(options.tls.certChainPem) },
    ], true);
  const host = options.host ?? "0.0.0.0";
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${options.port ?? 0}`, credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  logger.info({ port, epoch }, "discovery server listening");

  return {
    port,
    metrics,
    publish(model) {
      pendingModel = model;
      debouncer.poke();
    },
    flushNow() {
      debouncer.flushNow();
    },
    stats() {
      return {
        streams: conns.size,
        groups: versions?.groupCount ?? 0,
        version: versions?.sequence ?? 0,
        fullInFlight: maxFull - fullSlots.free,
        fullWaiting: fullSlots.waiting.length,
      };
    },
    async stop(graceMs = 2000) {
      debouncer.cancel();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        for (const conn of conns.values()) conn.call.end();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
