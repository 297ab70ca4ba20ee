// The gRPC shell around identity-certify.ts: decode, certify, encode; refusals
// become a status with the reason's message and a count by reason code. Nothing
// a caller sends can throw past this file.
import * as grpc from "@grpc/grpc-js";
import { loadProto } from "../../api/load.ts";
import type { ProtoGrpcType } from "../../api/gen/identity.ts";
import type { CertifyRequest__Output } from "../../api/gen/weft/identity/v1/CertifyRequest.ts";
import type { CertifyResponse } from "../../api/gen/weft/identity/v1/CertifyResponse.ts";
import type { Tracer } from "@opentelemetry/api";
import type { Logger } from "../../lib/log.ts";
import type { Result } from "../../lib/result.ts";
import { inSpan } from "../../lib/tracing.ts";
import type { CaBundle } from "./ca-files.ts";
import { certify, REFUSAL_STATUS, type Certified, type CertifyInput, type CertifyRefusal } from "./identity-certify.ts";
import type { IdentityMetrics } from "./identity-metrics.ts";
import type { IdentityVerifier } from "./identity-verifier.ts";

/** Largest Certify request served; a CSR plus a token is a few KiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024;
/** grpc-js refuses (uncounted) anything over this before decoding; between the two, the service refuses and counts. */
const HARD_MAX_RECEIVE_BYTES = 1024 * 1024;

export interface IdentityServiceOptions {
  ca: () => CaBundle | undefined;
  verifier: IdentityVerifier;
  leafLifetimeMs: number;
  metrics: IdentityMetrics;
  logger: Logger;
  maxRequestBytes?: number;
  /** Spans for issuance (weft.identity.certify); without one, nothing is traced. */
  tracer?: Tracer;
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
  return { Certify: { ...method, requestDeserialize } };
}

export function toStatus(refusal: CertifyRefusal): grpc.status {
  return grpc.status[REFUSAL_STATUS[refusal]];
}

/** Adds the Identity service to `server` (the caller binds and owns the server). */
export function addIdentityService(server: grpc.Server, options: IdentityServiceOptions): void {
  const { metrics, logger } = options;
  const refuse = (callback: grpc.sendUnaryData<CertifyResponse>, peer: string, refusal: CertifyRefusal, message: string) => {
    metrics.refused.inc({ reason: refusal });
    logger.info({ peer, reason: refusal, detail: message }, "certify refused");
    callback({ code: toStatus(refusal), details: `${refusal}: ${message}` });
  };
  const deps = { verifier: options.verifier, ca: options.ca, leafLifetimeMs: options.leafLifetimeMs };
  const tracer = options.tracer;
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
    const req = decoded.request;
    run({ identity: req.identity, token: req.token, csr: req.certificateSigningRequest }, peer).then(
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
  server.addService(serviceDefinition(options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES), { Certify: handler });
}

export interface IdentityServer {
  port: number;
  server: grpc.Server;
  /** Stops accepting, lets in-flight calls finish for up to graceMs, then closes. */
  stop(graceMs?: number): Promise<void>;
}

export function identityServerOptions(): grpc.ServerOptions {
  // Channelz bookkeeping costs measurable CPU on every call; the admin port has metrics instead.
  return { "grpc.max_receive_message_length": HARD_MAX_RECEIVE_BYTES, "grpc.max_send_message_length": HARD_MAX_RECEIVE_BYTES, "grpc.enable_channelz": 0 };
}

export async function startIdentityServer(
  options: IdentityServiceOptions & { host?: string; port?: number; credentials: grpc.ServerCredentials },
): Promise<IdentityServer> {
  const server = new grpc.Server(identityServerOptions());
  addIdentityService(server, options);
  const address = `${options.host ?? "127.0.0.1"}:${options.port ?? 0}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, options.credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  options.logger.info({ address, port }, "identity service listening");
  return { port, server, stop: (graceMs = 5_000) => stopServer(server, graceMs) };
}

export function stopServer(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
