// Reads the issuer and the trust anchors the identity service signs with.
// In Kubernetes they come from a mounted Secret (ca.crt, tls.crt, tls.key as
// cert-manager and Linkerd write them, or issuer.crt/issuer.key as
// `weft identity init` writes them); locally from that command's directory.
// Everything is checked before it is used: the key matches the certificate, the
// issuer is a CA, it chains to one of the anchors, and it is valid now.
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadSigningAuthority, pemBlocks, splitCertificates, type SigningAuthority } from "../../lib/pki.ts";
import { fail, ok, type Result } from "../../lib/result.ts";

export interface CaSource {
  /** Directory holding the issuer's certificate and key (and ca.crt unless anchorsFile is set). */
  issuerDir: string;
  /** Trust anchors bundle; default <issuerDir>/ca.crt (a trust-manager Bundle ConfigMap's key, mounted). */
  anchorsFile?: string;
  /**
   * The "renew now" instruction `weft identity renew` writes: an RFC 3339 instant;
   * leaves received before it are re-issued at once. Missing or empty: none.
   */
  renewFile?: string;
}

/** Everything the service needs to sign, loaded and checked. */
export interface CaBundle {
  issuer: SigningAuthority;
  issuerDer: Buffer;
  anchorsPem: string;
  anchorsDer: Buffer[];
  /** Leaves received before this are to be renewed now (from CaSource.renewFile). */
  renewBefore?: Date;
  /** Changes whenever any of the inputs change; for "did anything change" checks and logs. */
  fingerprint: string;
}

export const ISSUER_FILE_NAMES = [
  { cert: "issuer.crt", key: "issuer.key" },
  { cert: "tls.crt", key: "tls.key" },
] as const;

function readFirst(dir: string, names: readonly { cert: string; key: string }[]): Result<{ cert: string; key: string }> {
  for (const n of names) {
    try {
      return ok({ cert: readFileSync(join(dir, n.cert), "utf8"), key: readFileSync(join(dir, n.key), "utf8") });
    } catch {
      // try the next naming convention
    }
  }
  return fail("issuer-missing", `no issuer.crt+issuer.key or tls.crt+tls.key readable in ${dir}`);
}

/** Pure: checks PEM inputs and builds the bundle. */
export async function caBundleFromPem(issuerCertPem: string, issuerKeyPem: string, anchorsPem: string, now = new Date()): Promise<Result<CaBundle>> {
  const anchors = splitCertificates(anchorsPem);
  if (anchors.length === 0) return fail("anchors-missing", "the trust anchors bundle has no certificates");
  let anchorCerts: X509Certificate[];
  try {
    anchorCerts = anchors.map((p) => new X509Certificate(p));
  } catch (err) {
    return fail("anchors-malformed", `cannot parse trust anchors: ${(err as Error).message}`);
  }
  const issuer = await loadSigningAuthority({ certPem: issuerCertPem, keyPem: issuerKeyPem });
  if (!issuer.ok) return fail(`issuer-${issuer.code}`, `issuer: ${issuer.message}`);
  const issuerCert = new X509Certificate(issuer.value.certPem);
  if (!anchorCerts.some((a) => issuerCert.checkIssued(a) && issuerCert.verify(a.publicKey))) {
    return fail("issuer-untrusted", `issuer "${issuerCert.subject}" is not signed by any of the ${anchorCerts.length} trust anchors`);
  }
  if (issuer.value.notAfter.getTime() <= now.getTime()) return fail("issuer-expired", `issuer expired at ${issuer.value.notAfter.toISOString()}`);
  const issuerDer = pemBlocks(issuer.value.certPem)[0]?.der ?? Buffer.alloc(0);
  const anchorsDer = anchorCerts.map((a) => a.raw);
  return ok({
    issuer: issuer.value,
    issuerDer,
    anchorsPem: anchors.join(""),
    anchorsDer,
    fingerprint: [issuerCert.fingerprint256, ...anchorCerts.map((a) => a.fingerprint256)].join("|"),
  });
}

/** Pure: the renew file's text (an RFC 3339 instant, or empty for none). */
export function parseRenewBefore(text: string): Result<Date | undefined> {
  const trimmed = text.trim();
  if (trimmed === "") return ok(undefined);
  const at = new Date(trimmed);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(trimmed) || Number.isNaN(at.getTime())) return fail("renew-malformed", `renew file holds "${trimmed.slice(0, 64)}", not an RFC 3339 instant`);
  return ok(at);
}

function readRenewFile(path: string | undefined): Result<Date | undefined> {
  if (path === undefined) return ok(undefined);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return ok(undefined);
    return fail("renew-unreadable", `cannot read ${path}: ${(err as Error).message}`);
  }
  return parseRenewBefore(text);
}

export async function readCaFiles(source: CaSource, now = new Date()): Promise<Result<CaBundle>> {
  const issuer = readFirst(source.issuerDir, ISSUER_FILE_NAMES);
  if (!issuer.ok) return issuer;
  const renew = readRenewFile(source.renewFile);
  if (!renew.ok) return renew;
  const anchorsPath = source.anchorsFile ?? join(source.issuerDir, "ca.crt");
  let anchorsPem: string;
  try {
    anchorsPem = readFileSync(anchorsPath, "utf8");
  } catch (err) {
    return fail("anchors-missing", `cannot read trust anchors ${anchorsPath}: ${(err as Error).message}`);
  }
  const bundle = await caBundleFromPem(issuer.value.cert, issuer.value.key, anchorsPem, now);
  if (!bundle.ok || renew.value === undefined) return bundle;
  return ok({ ...bundle.value, renewBefore: renew.value, fingerprint: `${bundle.value.fingerprint}|renew:${renew.value.toISOString()}` });
}
