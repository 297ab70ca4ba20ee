// The gRPC shell of the discovery service: authenticates each stream by the
// proxy's mTLS certificate and hands it to a Connection (discovery-connection.ts),
// and fans each applied model out to the connections whose view changed.
// Model changes from the sources arrive through publish() and are coalesced by
// the debouncer; one encoded message is shared by every proxy of a scope group
// holding the same version.
import * as grpc from "@grpc/grpc-js";
import type { Tracer } from "@opentelemetry/api";
import { Registry } from "prom-client";
import { loadProto } from "../../api/load.ts";
import type { ProtoGrpcType } from "../../api/gen/discovery.ts";
import type { Snapshot } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import { systemClock, type Clock } from "../../lib/clock.ts";
import { silentLogger, type Logger } from "../../lib/log.ts";
import { spiffeIdFromSubjectAltName } from "../../lib/spiffe.ts";
import { withTlsPolicy } from "../../lib/tls-policy-grpc.ts";
import { Connection, MALFORMED, type ConnectionShared, type IncomingMessage } from "./discovery-connection.ts";
import { Debouncer } from "./discovery-debouncer.ts";
import { createDiscoveryMetrics, type DiscoveryMetrics } from "./discovery-metrics.ts";
import { registerStreamStatusMetric } from "./discovery-status-metrics.ts";
import { PublishedModel, type ModelSource } from "./discovery-model.ts";
import { WriteSlots } from "./discovery-write-slots.ts";
import { drainServer } from "./grpc-server-drain.ts";
import type { MeshModel, ProxyIdentity } from "./mesh-state.ts";

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
  /** Streams open at once with one client certificate (default DEFAULT_MAX_STREAMS_PER_CERTIFICATE); more are refused RESOURCE_EXHAUSTED. */
  maxStreamsPerCertificate?: number;
  logger?: Logger;
  registry?: Registry;
  /** Every timer of the server (debounce, write deadlines, the shutdown grace) runs on it; default: the system clock. */
  clock?: Clock;
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
  publish(model: ModelSource): void;
  /** Applies a pending model at once (tests, shutdown). */
  flushNow(): void;
  stats(): { streams: number; groups: number; version: number; fullInFlight: number; fullWaiting: number };
  metrics: DiscoveryMetrics;
  stop(graceMs?: number): Promise<void>;
}

/**
 * A proxy holds one stream; a few more cover a restart or a reconnect while the old stream is
 * not yet known dead. Counted per certificate, not per SPIFFE id: every replica of a workload
 * shares its id, but each proxy certifies its own key.
 */
export const DEFAULT_MAX_STREAMS_PER_CERTIFICATE = 4;

/** A proxy too slow to read a large message gives up its write slot after this long. */
const WRITE_DEADLINE_MS = 30_000;

const definition = loadProto<ProtoGrpcType>("discovery.proto").weft.discovery.v1.Discovery.service;
const method = definition.Stream;
const encode = (value: Snapshot): Buffer => method.responseSerialize(value);
const service: grpc.ServiceDefinition = {
  Stream: {
    ...method,
    // Prepared snapshots are encoded once and written as bytes to every stream that needs them.
    responseSerialize: (value: Snapshot | Buffer) => (Buffer.isBuffer(value) ? value : encode(value)),
    // A message that does not decode becomes a value the state machine refuses, not an exception.
    requestDeserialize: (bytes: Buffer): IncomingMessage => {
      try {
        return method.requestDeserialize(bytes);
      } catch {
        return MALFORMED;
      }
    },
  },
};

export async function startDiscoveryServer(options: DiscoveryServerOptions): Promise<DiscoveryServer> {
  const logger = (options.logger ?? silentLogger()).child({ component: "discovery" });
  const clock = options.clock ?? systemClock;
  const epoch = options.epoch ?? Date.now().toString(36);
  const model = new PublishedModel({ initial: options.initialModel, epoch, historyDepth: options.historyDepth });
  const connections = new Map<number, Connection>();
  let nextId = 1;
  const maxPerCertificate = options.maxStreamsPerCertificate ?? DEFAULT_MAX_STREAMS_PER_CERTIFICATE;
  /** Open streams by client certificate, and each stream's certificate, to give its count back. */
  const perCertificate = new Map<string, number>();
  const certificateOf = new Map<number, string>();
  // Scrape-time only; a subscribed stream's group exists, so counting creates nothing.
  const streamsBehind = (): number => {
    let behind = 0;
    for (const c of connections.values()) {
      const group = c.group;
      if (!c.state.subscribed || group === null || !model.versions?.has(group) || c.state.held !== model.versions.currentVersion(group)) behind++;
    }
    return behind;
  };
  const metrics = createDiscoveryMetrics(options.registry ?? new Registry(), streamsBehind);
  if (options.registry) registerStreamStatusMetric(options.registry, () => connections.values(), (group) => (model.versions?.has(group) ? model.versions.currentVersion(group) : null));
  const slots = new WriteSlots(options.maxFullInFlight ?? 8);
  const shared: ConnectionShared = {
    views: () => model.versions,
    slots,
    clock,
    writeDeadlineMs: WRITE_DEADLINE_MS,
    nackStorm: { count: options.nackStorm?.count ?? 20, windowMs: options.nackStorm?.windowMs ?? 10_000 },
    metrics,
    logger,
    tracer: options.tracer,
    released: (connection) => {
      connections.delete(connection.id);
      const certificate = certificateOf.get(connection.id);
      certificateOf.delete(connection.id);
      if (certificate !== undefined) {
        const left = (perCertificate.get(certificate) ?? 1) - 1;
        if (left === 0) perCertificate.delete(certificate);
        else perCertificate.set(certificate, left);
      }
      metrics.streams.dec();
    },
  };

  const applyModel = () => {
    // Compile time is measured on the process's own clock: it is work done, not a timer.
    const started = performance.now();
    const applied = model.apply();
    switch (applied.kind) {
      case "nothing-pending":
        return;
      case "failed":
        logger.error({ err: applied.err }, "building the mesh model failed; keeping the last version");
        return;
      case "first":
        metrics.flushes.inc();
        for (const connection of connections.values()) connection.changed();
        break;
      case "updated":
        metrics.flushes.inc();
        for (const connection of connections.values()) {
          // A proxy whose policy changed moves to its new class's group (and is sent a delta); the
          // others get a push only when their group's view changed.
          const moved = connection.regroup();
          const group = connection.group;
          if (moved || (group !== null && applied.changed.has(group))) connection.changed();
        }
        logger.debug({ version: model.versions?.sequence, changedGroups: applied.changed.size }, "model applied");
        break;
    }
    metrics.flushSeconds.observe((performance.now() - started) / 1000);
  };
  const debouncer = new Debouncer({ quietMs: options.debounce?.quietMs ?? 100, maxDelayMs: options.debounce?.maxDelayMs ?? 1000, clock }, applyModel);

  const handleStream = (call: grpc.ServerDuplexStream<IncomingMessage, Snapshot | Buffer>) => {
    const auth = call.getAuthContext();
    const identity = spiffeIdFromSubjectAltName(auth?.sslPeerCertificate?.subjectaltname);
    if (!identity.ok || identity.value.trustDomain !== options.trustDomain) {
      const reason = identity.ok ? `trust domain ${identity.value.trustDomain} is not ${options.trustDomain}` : identity.message;
      metrics.refused.inc({ reason: "unauthenticated" });
      logger.warn({ peer: call.getPeer(), reason }, "refused stream without a valid workload identity");
      call.emit("error", { code: grpc.status.UNAUTHENTICATED, details: `unauthenticated: ${reason}` });
      return;
    }
    const proxy: ProxyIdentity = { namespace: identity.value.namespace, serviceAccount: identity.value.serviceAccount };
    // A verified chain always has a fingerprint; the SPIFFE id stands in only if a binding leaves it out.
    const certificate = auth?.sslPeerCertificate?.fingerprint256 ?? `${proxy.namespace}/${proxy.serviceAccount}`;
    const open = perCertificate.get(certificate) ?? 0;
    if (open >= maxPerCertificate) {
      metrics.refused.inc({ reason: "certificate-stream-limit" });
      // Debug, not warn: a flood of refusals must not become a flood of log lines; the metric counts them.
      logger.debug({ peer: call.getPeer(), proxy, open }, "refused stream: too many open with this certificate");
      call.emit("error", { code: grpc.status.RESOURCE_EXHAUSTED, details: `certificate-stream-limit: ${open} streams are open with this certificate; the limit is ${maxPerCertificate}` });
      return;
    }
    const connection = new Connection(nextId++, proxy, call, shared);
    perCertificate.set(certificate, open + 1);
    certificateOf.set(connection.id, certificate);
    connections.set(connection.id, connection);
    metrics.streams.inc();
  };

  const server = new grpc.Server({
    // Generous: a proxy busy decoding a large first snapshot must not be cut off and start over.
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.max_receive_message_length": 64 * 1024,
    // Nothing reads channelz; it keeps call counters and a trace per connection (1,000 proxies: 1,000 of them).
    "grpc.enable_channelz": 0,
    // A proxy opens one stream; more on one connection is a misbehaving client. Enforced by HTTP/2
    // (the client cannot open more), so an abusive connection holds at most this many.
    "grpc.max_concurrent_streams": 4,
  });
  server.addService(service, { Stream: handleStream });
  const credentials = options.tls instanceof grpc.ServerCredentials
    ? options.tls
    : withTlsPolicy(grpc.ServerCredentials.createSsl(Buffer.from(options.tls.anchorsPem), [
      { private_key: Buffer.from(options.tls.keyPem), cert_chain: Buffer.from(options.tls.certChainPem) },
    ], true));
  const host = options.host ?? "0.0.0.0";
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${options.port ?? 0}`, credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  logger.info({ port, epoch }, "discovery server listening");

  return {
    port,
    metrics,
    publish(next) {
      model.publish(next);
      debouncer.poke();
    },
    flushNow() {
      debouncer.flushNow();
    },
    stats() {
      return {
        streams: connections.size,
        groups: model.versions?.groupCount ?? 0,
        version: model.versions?.sequence ?? 0,
        fullInFlight: slots.inUse,
        fullWaiting: slots.waiting,
      };
    },
    async stop(graceMs = 2000) {
      debouncer.cancel();
      await drainServer(server, {
        graceMs,
        clock,
        endStreams: () => {
          for (const connection of connections.values()) connection.end();
        },
      });
    },
  };
}
