// The identity service's core: from (token, CSR, optional expected id) to a
// signed chain or a refusal with a stable reason. No gRPC here; the server in
// identity-server.ts only decodes, calls this and encodes, and turns a
// refusal's reason into a status code and a metric label.
import { parseCsr, signLeafDer } from "../../lib/pki.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { formatSpiffeId, type WorkloadIdentity } from "../../lib/spiffe.ts";
import type { CaBundle } from "./ca-files.ts";
import type { IdentityVerifier, TokenRefusal } from "./identity-verifier.ts";

export type CertifyRefusal =
  | TokenRefusal
  | "csr-missing"
  | "csr-malformed"
  | "csr-bad-signature"
  | "csr-unsupported-key"
  | "csr-identity-mismatch"
  | "csr-extra-sans"
  | "identity-mismatch"
  | "message-too-large"
  | "request-malformed"
  | "no-issuer";

/** gRPC status names per refusal; the server maps them to numbers. */
export const REFUSAL_STATUS: Record<CertifyRefusal, "UNAUTHENTICATED" | "INVALID_ARGUMENT" | "PERMISSION_DENIED" | "RESOURCE_EXHAUSTED" | "UNAVAILABLE"> = {
  "token-missing": "UNAUTHENTICATED",
  "token-malformed": "UNAUTHENTICATED",
  "token-invalid": "UNAUTHENTICATED",
  "token-expired": "UNAUTHENTICATED",
  "token-wrong-audience": "UNAUTHENTICATED",
  "token-not-a-workload": "PERMISSION_DENIED",
  "verifier-unavailable": "UNAVAILABLE",
  "csr-missing": "INVALID_ARGUMENT",
  "csr-malformed": "INVALID_ARGUMENT",
  "csr-bad-signature": "INVALID_ARGUMENT",
  "csr-unsupported-key": "INVALID_ARGUMENT",
  "csr-identity-mismatch": "PERMISSION_DENIED",
  "csr-extra-sans": "PERMISSION_DENIED",
  "identity-mismatch": "PERMISSION_DENIED",
  "message-too-large": "RESOURCE_EXHAUSTED",
  "request-malformed": "INVALID_ARGUMENT",
  "no-issuer": "UNAVAILABLE",
};

export interface CertifyInput {
  identity: string;
  token: string;
  csr: Uint8Array;
}

export interface Certified {
  identity: WorkloadIdentity;
  spiffeId: string;
  certificateChain: Buffer[];
  trustAnchors: Buffer[];
  validUntil: Date;
  serialHex: string;
}

export interface CertifyDeps {
  verifier: IdentityVerifier;
  ca: () => CaBundle | undefined;
  leafLifetimeMs: number;
  now?: () => Date;
}

/**
 * Which of the CSR's requested SANs are acceptable for `spiffeId`: none at all,
 * or exactly that one URI. Anything else is refused rather than silently dropped,
 * so a misconfigured proxy learns about it at once.
 */
export function checkRequestedNames(sans: string[], spiffeId: string): Result<void, "csr-identity-mismatch" | "csr-extra-sans"> {
  const others = sans.filter((s) => s !== `url:${spiffeId}`);
  if (others.length === 0 && sans.length <= 1) return ok(undefined);
  const foreignSpiffe = others.find((s) => s.startsWith("url:spiffe://"));
  if (foreignSpiffe) return fail("csr-identity-mismatch", `CSR asks for ${foreignSpiffe.slice(4)}, but the token proves ${spiffeId}`);
  return fail("csr-extra-sans", `CSR may name only ${spiffeId}; it also asks for ${others.join(", ") || "a duplicate SAN"}`);
}

export async function certify(input: CertifyInput, deps: CertifyDeps): Promise<Result<Certified, CertifyRefusal>> {
  if (input.token === "") return fail("token-missing", "no token: send the proxy's ServiceAccount token (audience identity.weft.io) or local token");
  if (input.csr.byteLength === 0) return fail("csr-missing", "no certificate_signing_request");
  const ca = deps.ca();
  if (!ca) return fail("no-issuer", "no issuer loaded yet; try again shortly");
  const proven = await deps.verifier.verify(input.token);
  if (!proven.ok) return proven;
  const spiffeId = formatSpiffeId(proven.value);
  if (input.identity !== "" && input.identity !== spiffeId) {
    return fail("identity-mismatch", `request names ${input.identity}, but the token proves ${spiffeId}`);
  }
  const csr = await parseCsr(input.csr);
  if (!csr.ok) return csr;
  const names = checkRequestedNames(csr.value.sans, spiffeId);
  if (!names.ok) return names;
  const now = deps.now?.() ?? new Date();
  // A bundle loaded earlier may have expired since; never sign with an expired issuer.
  if (ca.issuer.notAfter.getTime() <= now.getTime()) return fail("no-issuer", `issuer expired at ${ca.issuer.notAfter.toISOString()}`);
  const leaf = signLeafDer(ca.issuer, { publicKey: csr.value.publicKeySpki, identity: proven.value, lifetimeMs: deps.leafLifetimeMs, now });
  return ok({
    identity: proven.value,
    spiffeId,
    certificateChain: [leaf.certDer, ca.issuerDer],
    trustAnchors: ca.anchorsDer,
    validUntil: leaf.notAfter,
    serialHex: leaf.serialHex,
  });
}
