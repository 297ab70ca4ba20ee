// The control plane's own TLS certificate, signed by the current issuer with
// the control plane's SPIFFE id, so proxies verify it against the same trust
// anchors as everything else in the mesh. Re-signed when the issuer changes and
// at 70% of its lifetime; grpc-js picks up each new one for new connections
// through its CertificateProvider interface (experimental API, stable since 1.10).
import { experimental, type ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "../../lib/log.ts";
import { withTlsPolicy } from "../../lib/tls-policy-grpc.ts";
import { generateKeyPair, privateKeyToPem, signLeaf } from "../../lib/pki.ts";
import type { WorkloadIdentity } from "../../lib/spiffe.ts";
import type { CaBundle } from "./ca-files.ts";
import type { CaWatcher } from "./ca-watcher.ts";

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export interface ServingTls {
  keyPem: string;
  certChainPem: string;
  anchorsPem: string;
  notAfter: Date;
}

export interface ServingCertificateOptions {
  watcher: CaWatcher;
  identity: WorkloadIdentity;
  lifetimeMs?: number;
  logger: Logger;
}

export class ServingCertificate implements experimental.CertificateProvider {
  readonly #options: ServingCertificateOptions;
  readonly #caListeners = new Set<CaListener>();
  readonly #identityListeners = new Set<IdentityListener>();
  #current: ServingTls | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #issuing: Promise<void> = Promise.resolve();

  constructor(options: ServingCertificateOptions) {
    this.#options = options;
  }

  /** Issues the first certificate if an issuer is loaded, and follows issuer changes. */
  async start(): Promise<void> {
    this.#unsubscribe = this.#options.watcher.onChange((bundle) => void this.#reissue(bundle));
    const bundle = this.#options.watcher.current();
    if (bundle) await this.#reissue(bundle);
  }

  stop(): void {
    this.#unsubscribe?.();
    clearTimeout(this.#timer);
  }

  current(): ServingTls | undefined {
    return this.#current;
  }

  #reissue(bundle: CaBundle): Promise<void> {
    this.#issuing = this.#issuing.then(() => this.#issue(bundle)).catch((err: unknown) => {
      this.#options.logger.error({ err }, "cannot issue the control plane's serving certificate");
    });
    return this.#issuing;
  }

  async #issue(bundle: CaBundle): Promise<void> {
    const keys = await generateKeyPair();
    const lifetimeMs = this.#options.lifetimeMs ?? 24 * 3_600_000;
    const now = new Date();
    const leaf = await signLeaf(bundle.issuer, { publicKey: keys.publicKey, identity: this.#options.identity, lifetimeMs, now });
    this.#current = {
      keyPem: await privateKeyToPem(keys.privateKey),
      certChainPem: leaf.certPem + bundle.issuer.certPem,
      anchorsPem: bundle.anchorsPem,
      notAfter: leaf.notAfter,
    };
    this.#options.logger.info({ spiffeId: leaf.spiffeId, notAfter: leaf.notAfter.toISOString() }, "serving certificate issued");
    this.#emit();
    clearTimeout(this.#timer);
    const renewIn = Math.max(1_000, (leaf.notAfter.getTime() - now.getTime()) * 0.7);
    this.#timer = setTimeout(() => {
      const latest = this.#options.watcher.current();
      if (latest) void this.#reissue(latest);
    }, Math.min(renewIn, 2 ** 31 - 1));
    this.#timer.unref();
  }

  #emit(): void {
    const c = this.#current;
    if (!c) return;
    for (const l of this.#caListeners) l({ caCertificate: Buffer.from(c.anchorsPem) });
    for (const l of this.#identityListeners) l({ certificate: Buffer.from(c.certChainPem), privateKey: Buffer.from(c.keyPem) });
  }

  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    // Asynchronously: grpc-js registers its own watcher only after this call returns.
    queueMicrotask(() => {
      if (this.#current && this.#caListeners.has(listener)) listener({ caCertificate: Buffer.from(this.#current.anchorsPem) });
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    queueMicrotask(() => {
      const c = this.#current;
      if (c && this.#identityListeners.has(listener)) listener({ certificate: Buffer.from(c.certChainPem), privateKey: Buffer.from(c.keyPem) });
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
  }
}

/**
 * gRPC server credentials that follow `serving` (rotating certificate and anchors).
 * requireClientCertificate: true for services whose callers already have mesh
 * certificates (discovery), false for the identity service (callers come to get one).
 */
export function servingCredentials(serving: ServingCertificate, requireClientCertificate: boolean): ServerCredentials {
  // The same provider fills both roles: grpc-js 1.14 passes these two arguments
  // to its constructor in the opposite order from their declared names.
  return withTlsPolicy(experimental.createCertificateProviderServerCredentials(serving, serving, requireClientCertificate));
}
