// The byte layouts of the two hot-path objects: the PKCS#10 CSR a proxy sends
// and the leaf certificate the CA returns. Both are fixed shapes (ECDSA P-256,
// SHA-256, one SPIFFE URI SAN), so they are written and read directly as DER
// and signed with Node's crypto; lib/pki.ts wraps them in the public API and
// the tests check every result with OpenSSL and @peculiar/x509.
import { sign, verify, type KeyObject } from "node:crypto";
import * as der from "./der.ts";
import { fail, ok, type Result } from "./result.ts";

export const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  ecPublicKey: "1.2.840.10045.2.1",
  prime256v1: "1.2.840.10045.3.1.7",
  extensionRequest: "1.2.840.113549.1.9.14",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  authorityKeyIdentifier: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

const ECDSA_SHA256 = der.seq(der.oid(OID.ecdsaWithSha256));

// Extensions every leaf shares, encoded once.
const BASIC_CONSTRAINTS_END_ENTITY = der.seq(der.oid(OID.basicConstraints), der.booleanTrue(), der.octetString(der.seq()));
// digitalSignature (bit 0) | keyAgreement (bit 4): 5 bits used, 3 unused.
const KEY_USAGE = der.seq(der.oid(OID.keyUsage), der.booleanTrue(), der.octetString(der.bitString(Buffer.from([0x88]), 3)));
const EXT_KEY_USAGE = der.seq(der.oid(OID.extKeyUsage), der.octetString(der.seq(der.oid(OID.serverAuth), der.oid(OID.clientAuth))));

// ECDSA signatures from Node's sign() are DER (X9.62) by default, as X.509 wants them.
function signEcdsa(data: Uint8Array, key: KeyObject): Buffer {
  return sign("sha256", data, key);
}

function signed(tbs: Buffer, key: KeyObject): Buffer {
  return der.seq(tbs, ECDSA_SHA256, der.bitString(signEcdsa(tbs, key)));
}

function generalNames(sans: { uris?: string[]; dnsNames?: string[] }): Buffer {
  return der.seq(
    ...(sans.uris ?? []).map((u) => der.implicitPrimitive(6, Buffer.from(u, "ascii"))),
    ...(sans.dnsNames ?? []).map((d) => der.implicitPrimitive(2, Buffer.from(d, "ascii"))),
  );
}

export interface LeafFields {
  serial: Uint8Array;
  /** DER Name of the issuer (its certificate's subject, byte for byte). */
  issuerName: Buffer;
  issuerKeyId: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** DER SubjectPublicKeyInfo of the workload's key. */
  spki: Buffer;
  spiffeId: string;
  signingKey: KeyObject;
}

/** DER of a signed leaf: empty subject, critical SAN with the one SPIFFE URI, CA:FALSE, TLS server+client auth. */
export function buildLeafDer(f: LeafFields): Buffer {
  const extensions = der.seq(
    BASIC_CONSTRAINTS_END_ENTITY,
    KEY_USAGE,
    EXT_KEY_USAGE,
    der.seq(der.oid(OID.authorityKeyIdentifier), der.octetString(der.seq(der.implicitPrimitive(0, f.issuerKeyId)))),
    // Critical because the subject is empty (RFC 5280 4.2.1.6).
    der.seq(der.oid(OID.subjectAltName), der.booleanTrue(), der.octetString(generalNames({ uris: [f.spiffeId] }))),
  );
  const tbs = der.seq(
    der.explicit(0, Buffer.from([der.TAG.integer, 1, 2])), // v3
    der.unsignedInteger(f.serial),
    ECDSA_SHA256,
    f.issuerName,
    der.seq(der.time(f.notBefore), der.time(f.notAfter)),
    der.seq(), // empty subject: the identity is the URI SAN
    f.spki,
    der.explicit(3, extensions),
  );
  return signed(tbs, f.signingKey);
}

/** DER of a PKCS#10 CSR with an empty subject and the given SANs in an extensionRequest. */
export function buildCsrDer(spki: Buffer, sans: { uris?: string[]; dnsNames?: string[] }, key: KeyObject): Buffer {
  const hasSans = (sans.uris?.length ?? 0) + (sans.dnsNames?.length ?? 0) > 0;
  const attributes = hasSans
    ? der.tlv(0xa0, der.seq(der.oid(OID.extensionRequest), der.set(der.seq(der.seq(der.oid(OID.subjectAltName), der.octetString(generalNames(sans)))))))
    : der.tlv(0xa0);
  const cri = der.seq(Buffer.from([der.TAG.integer, 1, 0]), der.seq(), spki, attributes);
  return signed(cri, key);
}

export interface CsrContents {
  /** DER SubjectPublicKeyInfo. */
  spki: Buffer;
  /** Requested SANs as `type:value`: url, dns, ip, email, or other:<tag>. */
  sans: string[];
  /** The signed part and the signature, for the caller to verify. */
  signedData: Buffer;
  signature: Buffer;
  signatureAlgorithm: string;
  keyAlgorithm: string;
  curve: string;
}

const SAN_TAGS: Record<number, string> = { 0x81: "email", 0x82: "dns", 0x86: "url", 0x87: "ip" };

function sanValue(tag: number, bytes: Buffer): string {
  if (tag === 0x87) return bytes.length === 4 ? [...bytes].join(".") : bytes.toString("hex");
  return bytes.toString("latin1");
}

function parseSans(buf: Buffer, extValue: der.Tlv): Result<string[]> {
  const octets = der.value(buf, extValue);
  const names = der.readOnly(octets, der.TAG.sequence);
  if (!names.ok) return names;
  const items = der.children(octets, names.value);
  if (!items.ok) return items;
  return ok(items.value.map((n) => `${SAN_TAGS[n.tag] ?? `other-0x${n.tag.toString(16)}`}:${sanValue(n.tag, der.value(octets, n))}`));
}

function expect(t: der.Tlv | undefined, tag: number, what: string): Result<der.Tlv> {
  if (!t || t.tag !== tag) return fail("csr-malformed", `CSR: bad ${what}`);
  return ok(t);
}

/** Reads a DER CSR's key, SANs and signature. Structure only: the signature is checked by verifyCsrSignature. */
export function parseCsrDer(buf: Buffer): Result<CsrContents> {
  const top = der.readOnly(buf, der.TAG.sequence);
  if (!top.ok) return fail("csr-malformed", `CSR: ${top.message}`);
  const parts = der.children(buf, top.value);
  if (!parts.ok || parts.value.length !== 3) return fail("csr-malformed", "CSR: expected request info, algorithm, signature");
  const [criTlv, algTlv, sigTlv] = parts.value;
  const cri = expect(criTlv, der.TAG.sequence, "request info");
  const alg = expect(algTlv, der.TAG.sequence, "signature algorithm");
  const sig = expect(sigTlv, der.TAG.bitString, "signature");
  if (!cri.ok) return cri;
  if (!alg.ok) return alg;
  if (!sig.ok) return sig;
  const algParts = der.children(buf, alg.value);
  const algOid = algParts.ok ? expect(algParts.value[0], der.TAG.oid, "signature algorithm") : algParts;
  if (!algOid.ok) return fail("csr-malformed", algOid.message);
  const criParts = der.children(buf, cri.value);
  if (!criParts.ok || criParts.value.length < 3) return fail("csr-malformed", "CSR: request info too short");
  const spkiTlv = expect(criParts.value[2], der.TAG.sequence, "public key");
  if (!spkiTlv.ok) return spkiTlv;
  const spkiParts = der.children(buf, spkiTlv.value);
  const keyAlg = spkiParts.ok ? expect(spkiParts.value[0], der.TAG.sequence, "key algorithm") : spkiParts;
  if (!keyAlg.ok) return fail("csr-malformed", keyAlg.message);
  const keyAlgParts = der.children(buf, keyAlg.value);
  if (!keyAlgParts.ok) return fail("csr-malformed", keyAlgParts.message);
  const [keyOid, curveOid] = keyAlgParts.value;
  const sans: string[] = [];
  const attrs = criParts.value[3];
  if (attrs && attrs.tag === 0xa0) {
    const list = der.children(buf, attrs);
    if (!list.ok) return fail("csr-malformed", list.message);
    for (const attr of list.value) {
      const fields = der.children(buf, attr);
      if (!fields.ok || fields.value[0]?.tag !== der.TAG.oid || fields.value[1]?.tag !== der.TAG.set) return fail("csr-malformed", "CSR: bad attribute");
      if (der.decodeOid(der.value(buf, fields.value[0])) !== OID.extensionRequest) continue;
      const values = der.children(buf, fields.value[1]);
      if (!values.ok) return fail("csr-malformed", values.message);
      for (const extensionsTlv of values.value) {
        const exts = der.children(buf, extensionsTlv);
        if (!exts.ok) return fail("csr-malformed", exts.message);
        for (const ext of exts.value) {
          const extFields = der.children(buf, ext);
          if (!extFields.ok || extFields.value[0]?.tag !== der.TAG.oid) return fail("csr-malformed", "CSR: bad extension");
          if (der.decodeOid(der.value(buf, extFields.value[0])) !== OID.subjectAltName) continue;
          const octets = extFields.value[extFields.value.length - 1];
          if (!octets || octets.tag !== der.TAG.octetString) return fail("csr-malformed", "CSR: bad subjectAltName");
          const names = parseSans(buf, octets);
          if (!names.ok) return fail("csr-malformed", `CSR subjectAltName: ${names.message}`);
          sans.push(...names.value);
        }
      }
    }
  }
  const sigBytes = der.value(buf, sig.value);
  if (sigBytes[0] !== 0) return fail("csr-malformed", "CSR: signature has unused bits");
  return ok({
    spki: der.whole(buf, spkiTlv.value),
    sans,
    signedData: der.whole(buf, cri.value),
    signature: sigBytes.subarray(1),
    signatureAlgorithm: der.decodeOid(der.value(buf, algOid.value)),
    keyAlgorithm: keyOid?.tag === der.TAG.oid ? der.decodeOid(der.value(buf, keyOid)) : "",
    curve: curveOid?.tag === der.TAG.oid ? der.decodeOid(der.value(buf, curveOid)) : "",
  });
}

/** Checks an ECDSA/SHA-256 DER signature; `publicKey` may be a KeyObject or DER SubjectPublicKeyInfo. Never throws. */
export function verifyEcdsaSha256(data: Buffer, signature: Buffer, publicKey: KeyObject | Buffer): boolean {
  try {
    const key = Buffer.isBuffer(publicKey) ? { key: publicKey, format: "der" as const, type: "spki" as const } : { key: publicKey };
    return verify("sha256", data, { ...key, dsaEncoding: "der" }, signature);
  } catch {
    return false;
  }
}

/** The subject Name (raw DER) of a DER certificate, to be copied into the issuer field of what it signs. */
export function subjectNameOfCertificate(buf: Buffer): Result<Buffer> {
  const top = der.readOnly(buf, der.TAG.sequence);
  if (!top.ok) return top;
  const parts = der.children(buf, top.value);
  if (!parts.ok || !parts.value[0]) return fail("bad-certificate", "certificate: no TBSCertificate");
  const tbs = der.children(buf, parts.value[0]);
  if (!tbs.ok) return tbs;
  // [0] version, serial, signature, issuer, validity, subject
  const offset = tbs.value[0]?.tag === 0xa0 ? 1 : 0;
  const subject = tbs.value[offset + 4];
  if (!subject || subject.tag !== der.TAG.sequence) return fail("bad-certificate", "certificate: no subject");
  return ok(der.whole(buf, subject));
}
