// The gRPC shell around identity-certify.ts: decode, certify, encode; refusals
// become a status with the reason's message and a count by reason code. Nothing
// a caller sends can throw past this file.
import * as grpc from "@grpc/grpc-js";
import { loadProto } from "../../api/load.ts";
import type { ProtoGrpcType } from "../../api/gen/identity.ts";
import type { CertifyRequest__Output } from "../../api/gen/weft/identity/v1/CertifyRequest.ts";
import type { CertifyResponse } from "../../api/gen/weft/identity/v1/CertifyResponse.ts";
import type { Tracer } from "@opentelemetry/api";
import { systemClock, type Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/log.ts";
import type { Result } from "../../lib/result.ts";
import { inSpan } from "../../lib/tracing.ts";
import type { CaBundle } from "./ca-files.ts";
import { certify, REFUSAL_STATUS, type Certified, type CertifyInput, type CertifyRefusal } from "./identity-certify.ts";
import type { IdentityMetrics } from "./identity-metrics.ts";
import type { IdentityVerifier } from "./identity-verifier.ts";
import { drainServer } from "./grpc-server-drain.ts";
import { listenLimited, type ConnectionLimits } from "./listener-limited.ts";
import { trustStreams, type TrustFeed } from "./identity-trust-stream.ts";

/** Largest Certify request served; a CSR plus a token is a few KiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024;
/**
 * grpc-js buffers a message whole before the service sees it, so its receive limit is the real
 * bound on what one stream can hold: twice the service's limit. Over it grpc-js refuses (uncounted)
 * as soon as the length prefix arrives; between the two, the service refuses and counts.
 */
const transportReceiveBytes = (maxRequestBytes: number): number => 2 * maxRequestBytes;
/** A CertifyResponse is a chain and the anchors: a few KiB, far under this. */
const MAX_SEND_BYTES = 1024 * 1024;

/**
 * The identity port answers any pod, so what one caller (or many) can hold is bounded:
 * worst case about maxConnections × maxStreamsPerConnection × 2 × maxRequestBytes buffered
 * before the service runs, and maxInFlight calls waiting on a verifier or signing.
 */
export interface IdentityLimits extends ConnectionLimits {
  /** Streams open at once on one connection; a proxy makes one Certify call at a time. */
  maxStreamsPerConnection: number;
  /** Certify calls being verified and signed at once; more are answered RESOURCE_EXHAUSTED at once. */
  maxInFlight: number;
  /** An idle connection is closed after this long; a proxy certifies once per renewal, not continuously. */
  idleConnectionMs: number;
}

export const DEFAULT_IDENTITY_LIMITS: IdentityLimits = {
  // Every proxy holds one connection open (its WatchTrust stream), as it holds one to discovery:
  // the cap bounds a flood, not the mesh, so it sits far above the pods one replica serves.
  maxConnections: 16_384,
  maxConnectionsPerPeer: 32,
  maxStreamsPerConnection: 4,
  maxInFlight: 128,
  idleConnectionMs: 120_000,
};

export interface IdentityServiceOptions {
  ca: () => CaBundle | undefined;
  verifier: IdentityVerifier;
  leafLifetimeMs: number;
  metrics: IdentityMetrics;
  logger: Logger;
  maxRequestBytes?: number;
  /** Default DEFAULT_IDENTITY_LIMITS; only maxInFlight applies to the service itself. */
  limits?: Partial<IdentityLimits>;
  /** Spans for issuance (weft.identity.certify); without one, nothing is traced. */
  tracer?: Tracer;
  /** Changes of the CA, pushed to proxies on WatchTrust; without it the stream sends the current bundle once. */
  trust?: TrustFeed;
}

type Decoded = { request: CertifyRequest__Output } | { refusal: CertifyRefusal; message: string };

function serviceDefinition(maxRequestBytes: number): grpc.ServiceDefinition {
  const proto = loadProto<ProtoGrpcType>("identity.proto");
  const base = proto.weft.identity.v1.Identity.service;
  const method = base.Certify;
  // Decoding happens here, so the size limit and malformed protobuf become refusals
  // the handler can count, rather than statuses grpc-js sends on its own.
  const requestDeserialize = (bytes: Buffer): Decoded => {
    if (bytes.length > maxRequestBytes) {
      return { refusal: "message-too-large", message: `request is ${bytes.length} bytes; the limit is ${maxRequestBytes}` };
    }
    try {
      return { request: method.requestDeserialize(bytes) };
    } catch (err) {
      return { refusal: "request-malformed", message: `request is not a CertifyRequest: ${(err as Error).message}` };
    }
  };
  return { Certify: { ...method, requestDeserialize }, WatchTrust: base.WatchTrust };
}

export function toStatus(refusal: CertifyRefusal): grpc.status {
  return grpc.status[REFUSAL_STATUS[refusal]];
}

/** The service added to a server; what its owner calls when the server starts to drain. */
export interface IdentityService {
  /** Ends every WatchTrust stream and refuses later ones (UNAVAILABLE), so proxies move to another replica at once. */
  drainStreams(): void;
}

/** Adds the Identity service to `server` (the caller binds and owns the server). */
export function addIdentityService(server: grpc.Server, options: IdentityServiceOptions): IdentityService {
  const { metrics, logger } = options;
  const refuse = (callback: grpc.sendUnaryData<CertifyResponse>, peer: string, refusal: CertifyRefusal, message: string) => {
    metrics.refused.inc({ reason: refusal });
    logger.info({ peer, reason: refusal, detail: message }, "certify refused");
    callback({ code: toStatus(refusal), details: `${refusal}: ${message}` });
  };
  const deps = { verifier: options.verifier, ca: options.ca, leafLifetimeMs: options.leafLifetimeMs };
  const tracer = options.tracer;
  const maxInFlight = options.limits?.maxInFlight ?? DEFAULT_IDENTITY_LIMITS.maxInFlight;
  let inFlight = 0;
  const run = (input: CertifyInput, peer: string): Promise<Result<Certified, CertifyRefusal>> => {
    if (!tracer) return certify(input, deps);
    const attrs = { "rpc.system": "grpc", "rpc.service": "weft.identity.v1.Identity", "rpc.method": "Certify", "network.peer.address": peer };
    return inSpan(tracer, "weft.identity.certify", attrs, async (span) => {
      const result = await certify(input, deps);
      if (result.ok) {
        span.setAttributes({
          "weft.certify.outcome": "issued",
          "weft.spiffe_id": result.value.spiffeId,
          "weft.certificate.serial": result.value.serialHex,
          "weft.certificate.not_after": result.value.validUntil.toISOString(),
        });
      } else {
        span.setAttribute("weft.certify.outcome", result.code);
      }
      return result;
    });
  };
  const handler: grpc.handleUnaryCall<Decoded, CertifyResponse> = (call, callback) => {
    const peer = call.getPeer();
    const decoded = call.request;
    if ("refusal" in decoded) return refuse(callback, peer, decoded.refusal, decoded.message);
    // Shed, don't queue: a caller told to back off costs nothing, a queued one holds its request and a verifier call.
    if (inFlight >= maxInFlight) {
      metrics.refused.inc({ reason: "overloaded" });
      logger.debug({ peer, inFlight }, "certify refused: too many calls in progress");
      callback({ code: grpc.status.RESOURCE_EXHAUSTED, details: `overloaded: ${maxInFlight} Certify calls in progress; retry with backoff` });
      return;
    }
    inFlight++;
    const req = decoded.request;
    run({ identity: req.identity, token: req.token, csr: req.certificateSigningRequest }, peer).finally(() => inFlight--).then(
      (result) => {
        if (!result.ok) return refuse(callback, peer, result.code, result.message);
        metrics.issued.inc();
        logger.debug({ peer, spiffeId: result.value.spiffeId, serial: result.value.serialHex }, "certificate issued");
        callback(null, {
          certificateChain: result.value.certificateChain,
          trustAnchors: result.value.trustAnchors,
          validUntilUnixMs: String(result.value.validUntil.getTime()),
        });
      },
      (err: unknown) => {
        metrics.refused.inc({ reason: "internal" });
        logger.error({ err, peer }, "certify failed");
        callback({ code: grpc.status.INTERNAL, details: "internal error" });
      },
    );
  };
  const feed: TrustFeed = options.trust ?? { current: options.ca, onChange: () => () => {} };
  const streams = trustStreams(feed, metrics, logger);
  server.addService(serviceDefinition(options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES), {
    Certify: handler,
    WatchTrust: streams.handler,
  });
  return { drainStreams: streams.drain };
}

export interface IdentityServer {
  port: number;
  server: grpc.Server;
  /**
   * Stops accepting, ends every WatchTrust stream at once (its proxy reopens it on another
   * replica) and refuses new ones, lets Certify calls in flight finish for up to graceMs, then closes.
   */
  stop(graceMs?: number): Promise<void>;
}

export function identityServerOptions(limits: IdentityLimits = DEFAULT_IDENTITY_LIMITS, maxRequestBytes = DEFAULT_MAX_REQUEST_BYTES): grpc.ServerOptions {
  return {
    "grpc.max_receive_message_length": transportReceiveBytes(maxRequestBytes),
    "grpc.max_send_message_length": MAX_SEND_BYTES,
    "grpc.max_concurrent_streams": limits.maxStreamsPerConnection,
    "grpc.max_connection_idle_ms": limits.idleConnectionMs,
    // A proxy lost without a FIN (its pod force-deleted) would hold a WatchTrust stream, and count
    // in weft_identity_trust_streams, forever: pings find it. Proxies ping every 30 s themselves.
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
    // Channelz bookkeeping costs measurable CPU on every call; the admin port has metrics instead.
    "grpc.enable_channelz": 0,
  };
}

export async function startIdentityServer(
  options: IdentityServiceOptions & {
    host?: string;
    port?: number;
    credentials: grpc.ServerCredentials;
    /** The shutdown grace runs on it; default: the system clock. */
    clock?: Clock;
  },
): Promise<IdentityServer> {
  const limits = { ...DEFAULT_IDENTITY_LIMITS, ...options.limits };
  const server = new grpc.Server(identityServerOptions(limits, options.maxRequestBytes));
  const service = addIdentityService(server, { ...options, limits });
  const host = options.host ?? "127.0.0.1";
  const listener = await listenLimited(server, {
    host,
    port: options.port ?? 0,
    credentials: options.credentials,
    limits,
    refused: (reason, peer) => {
      options.metrics.refused.inc({ reason });
      options.logger.debug({ peer, reason }, "connection refused");
    },
  });
  options.logger.info({ host, port: listener.port, limits }, "identity service listening");
  return {
    port: listener.port,
    server,
    stop: (graceMs = 5_000) => {
      listener.close();
      return drainServer(server, { graceMs, clock: options.clock ?? systemClock, endStreams: service.drainStreams, connectionsClosed: listener.allClosed });
    },
  };
}
