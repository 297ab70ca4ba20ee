// The proxy's current mTLS credentials, shared by every listener and dialer.
// Certificates rotate every few hours (seconds in tests); a TLS handshake takes
// whatever is current when it starts, and established connections keep the
// credentials they were made with, so nothing is dropped on rotation.
import { EventEmitter } from "node:events";
import * as tls from "node:tls";
import { checkServerSpiffeId } from "./credentials-peer.ts";
import { fail, ok, type Result } from "../../../lib/result.ts";
import { bundleVerifiesChain } from "../../../lib/trust-bundle.ts";

export interface Credentials {
  /** PEM private key (PKCS#8); lives only in memory. */
  key: string;
  /** PEM leaf certificate followed by the issuer. */
  certChain: string;
  /** PEM trust anchors (every root currently trusted). */
  trustAnchors: string;
  spiffeId: string;
  notAfter: Date;
}

interface Events {
  change: [Credentials];
}

export class CredentialStore extends EventEmitter<Events> {
  #current: Credentials | undefined;
  #context: tls.SecureContext | undefined;
  #version = 0;

  current(): Credentials | undefined {
    return this.#current;
  }

  /** Increases on every change; lets callers cache derived state. */
  get version(): number {
    return this.#version;
  }

  set(credentials: Credentials): void {
    this.#current = credentials;
    this.#context = undefined;
    this.#version++;
    this.emit("change", credentials);
  }

  /**
   * Takes a pushed trust bundle in place of the current one (same key and leaf),
   * unless it would not verify our own leaf: then peers holding leaves from our
   * issuer would refuse us once they take it too, so it is refused here instead
   * (the caller logs and counts it) and the old bundle stays.
   */
  replaceTrustAnchors(anchorsPem: string, now = new Date()): Result<"applied" | "unchanged"> {
    const c = this.#current;
    if (!c) return fail("no-credentials", "no certificate yet; the first Certify brings the bundle");
    if (c.trustAnchors === anchorsPem) return ok("unchanged");
    const verifies = bundleVerifiesChain(c.certChain, anchorsPem, now);
    if (!verifies.ok) return fail("bundle-excludes-own-leaf", `the pushed bundle does not verify this proxy's leaf: ${verifies.message}`);
    this.set({ ...c, trustAnchors: anchorsPem });
    return ok("applied");
  }

  /** Resolves with the first credentials (at once if there are some). */
  ready(): Promise<Credentials> {
    const current = this.#current;
    if (current) return Promise.resolve(current);
    return new Promise((resolve) => this.once("change", resolve));
  }

  /** A SecureContext for the current credentials (built once per version), or undefined before the first. */
  secureContext(): tls.SecureContext | undefined {
    const c = this.#current;
    if (!c) return undefined;
    this.#context ??= tls.createSecureContext({ key: c.key, cert: c.certChain, ca: c.trustAnchors, minVersion: "TLSv1.3" });
    return this.#context;
  }

  /** For tls.createServer({ SNICallback }): every handshake that sends SNI gets the current context. */
  sniCallback(): (servername: string, callback: (err: Error | null, ctx?: tls.SecureContext) => void) => void {
    return (_servername, callback) => {
      const ctx = this.secureContext();
      if (ctx) callback(null, ctx);
      else callback(new Error("no mesh credentials yet"));
    };
  }

  /**
   * Server options that present the current credentials and require a client
   * certificate chaining to the anchors; handshakes without SNI use the server's
   * default context, which attachServer keeps current.
   */
  serverOptions(): tls.TlsOptions {
    const c = this.#current;
    return {
      ...(c ? { key: c.key, cert: c.certChain, ca: c.trustAnchors } : {}),
      minVersion: "TLSv1.3",
      requestCert: true,
      rejectUnauthorized: true,
      SNICallback: this.sniCallback(),
    };
  }

  /** Keeps `server`'s default context current; returns a function that detaches. */
  attachServer(server: tls.Server): () => void {
    const update = (c: Credentials) => server.setSecureContext({ key: c.key, cert: c.certChain, ca: c.trustAnchors, minVersion: "TLSv1.3" });
    const current = this.#current;
    if (current) update(current);
    this.on("change", update);
    return () => this.off("change", update);
  }

  /**
   * Options for one outgoing connection with the current credentials. With
   * `expectedPeer` the server must present exactly that SPIFFE id; otherwise any
   * workload certificate chaining to the anchors is accepted (hostnames are not checked).
   */
  clientOptions(expectedPeer?: string): tls.ConnectionOptions | undefined {
    const secureContext = this.secureContext();
    if (!secureContext) return undefined;
    return { secureContext, rejectUnauthorized: true, checkServerIdentity: checkServerSpiffeId(expectedPeer) };
  }
}
