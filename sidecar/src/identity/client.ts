// The proxy's side of the identity service: one Certify call over TLS, with
// the control plane's certificate verified against the mesh's trust anchors
// (and, when configured, its SPIFFE id). Failures come back as values.
import * as grpc from "@grpc/grpc-js";
import { loadProto } from "../../../api/load.ts";
import type { ProtoGrpcType } from "../../../api/gen/identity.ts";
import type { IdentityClient as GrpcIdentityClient } from "../../../api/gen/weft/identity/v1/Identity.ts";
import { derToPem } from "../../../lib/pem.ts";
import { fail, ok, type Result } from "../../../lib/result.ts";
import { checkServerSpiffeId } from "./credentials-peer.ts";

export interface CertifyResult {
  /** PEM, leaf first. */
  certChainPem: string;
  trustAnchorsPem: string;
  notAfter: Date;
}

/** One WatchTrust message, decoded. */
export interface TrustPush {
  anchorsPem: string;
  /** Leaves received before this are to be renewed now; undefined: no such instruction. */
  renewBefore: Date | undefined;
  /** The issuer now signing leaves (PEM; empty if the control plane did not say). */
  issuerPem: string;
}

export interface TrustStreamHandlers {
  update(push: TrustPush): void;
  /** The stream ended (the control plane went away, or said why); called once. */
  end(reason: string): void;
}

export interface IdentityClientOptions {
  /** host:port of the control plane's identity service. */
  address: string;
  /** Anchors to verify the control plane with (the latest bundle received is used once there is one). */
  trustAnchorsPem: string;
  /** The control plane's SPIFFE id; unset accepts any certificate chaining to the anchors. */
  serverIdentity?: string;
  deadlineMs?: number;
  /**
   * HTTP/2 keepalive: a ping after this long without a frame, and the connection given up
   * when its answer takes longer than the timeout. WatchTrust is a stream on which the
   * proxy never sends: without pings, a control-plane replica lost without a FIN (its pod
   * force-deleted, its node gone) leaves the stream open forever and the proxy deaf to
   * every later bundle. Default 30 s and 10 s, as the discovery stream's.
   */
  keepalive?: { timeMs: number; timeoutMs: number };
}

export const DEFAULT_IDENTITY_KEEPALIVE = { timeMs: 30_000, timeoutMs: 10_000 } as const;

let protoCache: ProtoGrpcType | undefined;

export class IdentityClient {
  readonly #options: IdentityClientOptions;
  #anchorsPem: string;
  #client: GrpcIdentityClient | undefined;

  constructor(options: IdentityClientOptions) {
    this.#options = options;
    this.#anchorsPem = options.trustAnchorsPem;
  }

  /** Switches to a newer trust bundle for the next connection (anchor rotation). */
  setTrustAnchors(pem: string): void {
    if (pem === this.#anchorsPem) return;
    this.#anchorsPem = pem;
    this.close();
  }

  #grpc(): GrpcIdentityClient {
    if (this.#client) return this.#client;
    protoCache ??= loadProto<ProtoGrpcType>("identity.proto");
    const credentials = grpc.credentials.createSsl(Buffer.from(this.#anchorsPem), null, null, {
      checkServerIdentity: checkServerSpiffeId(this.#options.serverIdentity),
    });
    this.#client = new protoCache.weft.identity.v1.Identity(this.#options.address, credentials, {
      // The certificate names a SPIFFE id, not a host; checkServerIdentity above does the name check.
      "grpc.ssl_target_name_override": "identity.weft.invalid",
      "grpc.enable_channelz": 0,
      // grpc-js backs off reconnects up to 120 s: a proxy would stay deaf to WatchTrust that long after
      // the control plane came back from an outage. The trust watcher and renewer pace their own retries.
      "grpc.initial_reconnect_backoff_ms": 200,
      "grpc.max_reconnect_backoff_ms": 10_000,
      "grpc.keepalive_time_ms": (this.#options.keepalive ?? DEFAULT_IDENTITY_KEEPALIVE).timeMs,
      "grpc.keepalive_timeout_ms": (this.#options.keepalive ?? DEFAULT_IDENTITY_KEEPALIVE).timeoutMs,
    });
    return this.#client;
  }

  certify(request: { token: string; csrDer: Buffer; identity?: string }): Promise<Result<CertifyResult>> {
    return new Promise((resolve) => {
      const deadline = new Date(Date.now() + (this.#options.deadlineMs ?? 10_000));
      this.#grpc().certify(
        { token: request.token, certificateSigningRequest: request.csrDer, identity: request.identity ?? "" },
        { deadline },
        (err, response) => {
          if (err) {
            const code = grpc.status[err.code] ?? String(err.code);
            resolve(fail(code, err.details || err.message));
            return;
          }
          if (!response || response.certificateChain.length === 0) {
            resolve(fail("empty-response", "Certify returned no certificate"));
            return;
          }
          resolve(ok({
            certChainPem: response.certificateChain.map((d) => derToPem("CERTIFICATE", d)).join(""),
            trustAnchorsPem: response.trustAnchors.map((d) => derToPem("CERTIFICATE", d)).join(""),
            notAfter: new Date(Number(response.validUntilUnixMs)),
          }));
        },
      );
    });
  }

  /** Opens WatchTrust; returns a function that cancels it (after which `end` is not called). */
  watchTrust(handlers: TrustStreamHandlers): () => void {
    const call = this.#grpc().watchTrust({});
    let done = false;
    const finish = (reason: string): void => {
      if (done) return;
      done = true;
      handlers.end(reason);
    };
    call.on("data", (message: { trustAnchors: Buffer[]; renewIssuedBeforeUnixMs: string; issuer: Buffer }) => {
      if (done) return;
      const renewMs = Number(message.renewIssuedBeforeUnixMs);
      handlers.update({
        anchorsPem: message.trustAnchors.map((d) => derToPem("CERTIFICATE", d)).join(""),
        renewBefore: Number.isFinite(renewMs) && renewMs > 0 ? new Date(renewMs) : undefined,
        issuerPem: message.issuer.length > 0 ? derToPem("CERTIFICATE", message.issuer) : "",
      });
    });
    call.on("error", (err: grpc.ServiceError) => finish(`${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`));
    call.on("end", () => finish("the control plane ended the stream"));
    return () => {
      done = true;
      call.cancel();
    };
  }

  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }
}
