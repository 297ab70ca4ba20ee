// Reading and verifying certificates with node:crypto alone: the SPIFFE id in a
// certificate and a chain verified up to a trust anchor. Apart from lib/pki.ts
// (which re-exports these), whose @peculiar/x509 costs a process about 8 MB of
// heap, so that a proxy in static mode, which only reports on certificates,
// never loads it.
import { X509Certificate as NodeX509 } from "node:crypto";
import { splitCertificates } from "./pem.ts";
import { fail, ok, type Result } from "./result.ts";
import { spiffeIdFromSubjectAltName, type WorkloadIdentity } from "./spiffe.ts";

/** The SPIFFE id in a certificate's URI SAN, if it has exactly one workload id. */
export function spiffeIdOfCertificate(cert: NodeX509 | string): Result<WorkloadIdentity & { uri: string }> {
  let parsed: NodeX509;
  try {
    parsed = typeof cert === "string" ? new NodeX509(cert) : cert;
  } catch (err) {
    return fail("bad-certificate", `cannot parse certificate: ${(err as Error).message}`);
  }
  return spiffeIdFromSubjectAltName(parsed.subjectAltName);
}

export interface VerifiedChain {
  leaf: NodeX509;
  spiffeId: string | undefined;
  notAfter: Date;
}

function validAt(cert: NodeX509, now: Date): boolean {
  return new Date(cert.validFrom).getTime() <= now.getTime() && now.getTime() <= new Date(cert.validTo).getTime();
}

/**
 * Verifies `leaf` up to one of `anchors`, through any of `intermediates`: signatures,
 * issuer/subject linkage, CA flags and validity at `now`. A small path builder, enough
 * for anchor -> issuer -> leaf (and anchor -> leaf); TLS does its own checks in OpenSSL.
 */
export function verifyChain(leafPem: string, intermediatesPem: string, anchorsPem: string, now = new Date()): Result<VerifiedChain> {
  let leaf: NodeX509;
  let intermediates: NodeX509[];
  let anchors: NodeX509[];
  try {
    leaf = new NodeX509(leafPem);
    intermediates = splitCertificates(intermediatesPem).map((p) => new NodeX509(p));
    anchors = splitCertificates(anchorsPem).map((p) => new NodeX509(p));
  } catch (err) {
    return fail("bad-certificate", `cannot parse certificate: ${(err as Error).message}`);
  }
  if (anchors.length === 0) return fail("no-anchors", "no trust anchors given");
  if (!validAt(leaf, now)) return fail("expired", `leaf is not valid at ${now.toISOString()} (${leaf.validFrom} - ${leaf.validTo})`);
  let current = leaf;
  for (let depth = 0; depth <= intermediates.length; depth++) {
    const anchor = anchors.find((a) => current.checkIssued(a) && current.verify(a.publicKey));
    if (anchor) {
      if (!anchor.ca) return fail("not-a-ca", "trust anchor is not a CA");
      if (!validAt(anchor, now)) return fail("expired", "trust anchor is not valid now");
      const id = spiffeIdOfCertificate(leaf);
      return ok({ leaf, spiffeId: id.ok ? id.value.uri : undefined, notAfter: new Date(leaf.validTo) });
    }
    const next = intermediates.find((c) => current.checkIssued(c) && current.verify(c.publicKey));
    if (!next) return fail("unknown-issuer", `no trusted issuer found for "${current.subject || current.subjectAltName}"`);
    if (!next.ca) return fail("not-a-ca", `intermediate "${next.subject}" is not a CA`);
    if (!validAt(next, now)) return fail("expired", `intermediate "${next.subject}" is not valid now`);
    current = next;
  }
  return fail("unknown-issuer", "chain does not reach a trust anchor");
}
