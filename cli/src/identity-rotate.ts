// The rotation steps of `weft identity` as pure functions of the CA's current
// state: what the new bundle or issuer would be, refused before anything is
// written when the control plane would refuse it too (an issuer that no anchor
// in the bundle signed, a bundle without the anchor of the issuer in use).
import { X509Certificate } from "node:crypto";
import { caBundleFromPem } from "../../control-plane/src/ca-files.ts";
import { splitCertificates } from "../../lib/pki.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import type { CaState } from "./identity-ca-target.ts";

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** Lower-case hex without separators, so "AB:CD", "abcd" and a prefix of either all match. */
function normal(fp: string): string {
  return fp.replace(/:/g, "").toLowerCase();
}

function parseAll(pem: string, what: string): Result<string[]> {
  const certs = splitCertificates(pem);
  if (certs.length === 0) return fail("no-certificate", `${what} holds no certificate`);
  try {
    for (const c of certs) if (!new X509Certificate(c).ca) return fail("not-a-ca", `${what}: "${new X509Certificate(c).subject}" is not a CA certificate`);
  } catch (err) {
    return fail("bad-certificate", `${what}: ${(err as Error).message}`);
  }
  return ok(certs);
}

/** The bundle with `addPem`'s anchors appended (those already in it are kept once). */
export function bundleWithAnchors(state: CaState, addPem: string): Result<{ bundle: string; added: number }> {
  const current = parseAll(state.anchorsPem, "the current bundle");
  if (!current.ok) return current;
  const adding = parseAll(addPem, "the anchors to add");
  if (!adding.ok) return adding;
  const have = new Set(current.value.map(fingerprint));
  const fresh = adding.value.filter((c) => !have.has(fingerprint(c)));
  return ok({ bundle: [...current.value, ...fresh].join(""), added: fresh.length });
}

/**
 * The bundle without the anchors named by fingerprint (or a unique prefix of one)
 * or given as PEM. Refused if the current issuer would no longer chain to it:
 * every leaf it signs would be untrusted. Switch the issuer first.
 */
export async function bundleWithoutAnchors(state: CaState, remove: { fingerprints: string[]; pems: string[] }, now = new Date()): Promise<Result<{ bundle: string; removed: string[] }>> {
  const current = parseAll(state.anchorsPem, "the current bundle");
  if (!current.ok) return current;
  const targets = new Set<string>();
  for (const pem of remove.pems) for (const c of splitCertificates(pem)) targets.add(fingerprint(c));
  for (const fp of remove.fingerprints) {
    const matches = current.value.map(fingerprint).filter((f) => normal(f).startsWith(normal(fp)));
    if (matches.length === 0) return fail("unknown-anchor", `no anchor in the bundle has fingerprint ${fp}`);
    if (matches.length > 1) return fail("ambiguous-anchor", `${fp} matches ${matches.length} anchors; give more of the fingerprint`);
    targets.add(matches[0] as string);
  }
  const kept = current.value.filter((c) => !targets.has(fingerprint(c)));
  const removed = current.value.filter((c) => targets.has(fingerprint(c))).map(fingerprint);
  if (removed.length === 0) return fail("unknown-anchor", "none of the given anchors is in the bundle");
  if (kept.length === 0) return fail("empty-bundle", "that would remove every anchor");
  const check = await caBundleFromPem(state.issuerCertPem, state.issuerKeyPem, kept.join(""), now);
  if (!check.ok) return fail("issuer-needs-anchor", `the issuer in use would no longer be trusted (${check.message}); switch the issuer to one signed by a remaining anchor first`);
  return ok({ bundle: kept.join(""), removed });
}

/** Checks a new issuer against the bundle in use, as the control plane will. */
export async function checkIssuerSwitch(state: CaState, certPem: string, keyPem: string, now = new Date()): Promise<Result<{ subject: string; fingerprint: string }>> {
  const check = await caBundleFromPem(certPem, keyPem, state.anchorsPem, now);
  if (!check.ok) {
    const hint = check.code === "issuer-untrusted" ? "; add its anchor to the bundle first (weft identity bundle add)" : "";
    return fail(check.code, `${check.message}${hint}`);
  }
  const cert = new X509Certificate(certPem);
  return ok({ subject: cert.subject, fingerprint: cert.fingerprint256 });
}

/** One line per anchor and the issuer, for `weft identity status`. */
export function describeCa(state: CaState): string[] {
  const lines: string[] = [];
  try {
    const issuer = new X509Certificate(state.issuerCertPem);
    for (const pem of splitCertificates(state.anchorsPem)) {
      const a = new X509Certificate(pem);
      const signs = issuer.checkIssued(a) && issuer.verify(a.publicKey);
      lines.push(`anchor  ${a.fingerprint256}  ${a.subject.replace(/\n/g, ", ")}  until ${new Date(a.validTo).toISOString()}${signs ? "  (signed the issuer)" : ""}`);
    }
    lines.push(`issuer  ${issuer.fingerprint256}  ${issuer.subject.replace(/\n/g, ", ")}  until ${new Date(issuer.validTo).toISOString()}`);
  } catch (err) {
    lines.push(`cannot parse: ${(err as Error).message}`);
  }
  return lines;
}
