// The seam between the data plane and wherever certificates come from (files
// in static mode, the identity client in control-plane mode). The data plane
// asks for the current TLS contexts on every new connection, so a rotated
// certificate takes effect for new connections without a restart.
import { createSecureContext, type SecureContext } from "node:tls";
import { readFile } from "node:fs/promises";
import { X509Certificate } from "node:crypto";
import { fail, ok, type Result } from "../../../lib/result.ts";
import { spiffeIdOfSan } from "../../../lib/spiffe.ts";
import { TLS_POLICY } from "../../../lib/tls-policy.ts";

export interface Credentials {
  keyPem: string;
  certChainPem: string;
  anchorsPem: string;
}

export interface TlsMaterial {
  credentials: Credentials;
  /** The proxy's own SPIFFE id, from its leaf. */
  spiffeId: string;
  notAfter: Date;
  /** One context for both roles: the proxy is the TLS server inbound and the client outbound. */
  context: SecureContext;
}

export interface CredentialsSource {
  current(): TlsMaterial | undefined;
  /** Called after every change of credentials. */
  onChange(listener: (material: TlsMaterial) => void): void;
}

export function buildTlsMaterial(credentials: Credentials): Result<TlsMaterial> {
  try {
    const leaf = new X509Certificate(credentials.certChainPem);
    const id = spiffeIdOfSan(leaf.subjectAltName);
    if (!id.ok) return fail("no-spiffe-id", `certificate has no SPIFFE id: ${id.message}`);
    const context = createSecureContext({ key: credentials.keyPem, cert: credentials.certChainPem, ca: credentials.anchorsPem, ...TLS_POLICY });
    return ok({ credentials, spiffeId: id.value, notAfter: new Date(leaf.validTo), context });
  } catch (err) {
    return fail("bad-credentials", `cannot build a TLS context: ${(err as Error).message}`);
  }
}

/** A source whose credentials are set from outside (files, the identity client, tests). */
export class CredentialsHolder implements CredentialsSource {
  #material: TlsMaterial | undefined;
  readonly #listeners: ((material: TlsMaterial) => void)[] = [];

  current(): TlsMaterial | undefined {
    return this.#material;
  }

  onChange(listener: (material: TlsMaterial) => void): void {
    this.#listeners.push(listener);
  }

  set(credentials: Credentials): Result<TlsMaterial> {
    const built = buildTlsMaterial(credentials);
    if (!built.ok) return built;
    this.#material = built.value;
    for (const listener of this.#listeners) listener(built.value);
    return built;
  }
}

export async function loadCredentialFiles(paths: { cert: string; key: string; anchors: string }): Promise<Result<Credentials>> {
  try {
    const [certChainPem, keyPem, anchorsPem] = await Promise.all([readFile(paths.cert, "utf8"), readFile(paths.key, "utf8"), readFile(paths.anchors, "utf8")]);
    return ok({ certChainPem, keyPem, anchorsPem });
  } catch (err) {
    return fail("unreadable", `cannot read credentials: ${(err as Error).message}`);
  }
}

/** Adapts the identity engineer's CredentialStore (control-plane mode) to this seam. */
export function fromCredentialStore(store: {
  current(): { key: string; certChain: string; trustAnchors: string } | undefined;
  on(event: "change", listener: (c: { key: string; certChain: string; trustAnchors: string }) => void): unknown;
}): CredentialsHolder {
  const holder = new CredentialsHolder();
  const apply = (c: { key: string; certChain: string; trustAnchors: string }): void => {
    holder.set({ keyPem: c.key, certChainPem: c.certChain, anchorsPem: c.trustAnchors });
  };
  const current = store.current();
  if (current) apply(current);
  store.on("change", apply);
  return holder;
}
