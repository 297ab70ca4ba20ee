// What an operator and a proxy need to say about a trust bundle: each anchor's
// fingerprint, which issuer signed a leaf, and whether a bundle still verifies
// a given chain (the guard a proxy applies before taking a pushed bundle).
import { X509Certificate } from "node:crypto";
import { fail, ok, type Result } from "./result.ts";
import { splitCertificates } from "./pem.ts";
import { verifyChain } from "./x509-verify.ts";

export interface CertificateSummary {
  subject: string;
  /** SHA-256 of the DER, colon-separated hex as openssl prints it. */
  fingerprint: string;
  notAfter: string;
}

function summary(cert: X509Certificate): CertificateSummary {
  // A workload leaf has an empty subject (its name is the SPIFFE id in its SAN).
  const subject = (cert.subject as string | undefined)?.replace(/\n/g, ", ") || (cert.subjectAltName ?? "");
  return { subject, fingerprint: cert.fingerprint256, notAfter: new Date(cert.validTo).toISOString() };
}

/** The anchors of a PEM bundle, in order; unparseable blocks are reported, not thrown. */
export function summarizeBundle(pem: string): Result<CertificateSummary[]> {
  try {
    return ok(splitCertificates(pem).map((p) => summary(new X509Certificate(p))));
  } catch (err) {
    return fail("bad-certificate", `cannot parse the bundle: ${(err as Error).message}`);
  }
}

/** The leaf and the issuer (second certificate) of a chain, as a proxy presents it. */
export function summarizeChain(chainPem: string): Result<{ leaf: CertificateSummary; issuer: CertificateSummary | undefined }> {
  try {
    const certs = splitCertificates(chainPem).map((p) => new X509Certificate(p));
    const [leaf, issuer] = certs;
    if (!leaf) return fail("no-certificate", "the chain holds no certificate");
    return ok({ leaf: summary(leaf), issuer: issuer ? summary(issuer) : undefined });
  } catch (err) {
    return fail("bad-certificate", `cannot parse the chain: ${(err as Error).message}`);
  }
}

/** Whether `anchorsPem` verifies the chain (leaf first, then intermediates) at `now`. */
export function bundleVerifiesChain(chainPem: string, anchorsPem: string, now = new Date()): Result<void> {
  const [leaf, ...rest] = splitCertificates(chainPem);
  if (!leaf) return fail("no-certificate", "the chain holds no certificate");
  const verified = verifyChain(leaf, rest.join(""), anchorsPem, now);
  return verified.ok ? ok(undefined) : verified;
}
