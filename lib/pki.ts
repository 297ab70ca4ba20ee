// The mesh's PKI in one place: ECDSA P-256 keys, the long-lived trust anchor,
// the issuer (intermediate CA) it signs, workload CSRs, short-lived leaves with
// the SPIFFE id as their only URI SAN, and chain verification. The control
// plane, the proxy, the CLI and the tests all build certificates through here,
// so a certificate's shape is decided once.
//
// The CAs (made rarely) are built with @peculiar/x509 over Node's WebCrypto
// (node-forge cannot sign ECDSA); the hot path, CSR in and leaf out, is fixed-
// layout DER signed with Node's crypto (lib/x509-workload.ts), because the
// general library costs ~3 ms a certificate; certificates are parsed and
// verified with Node's crypto.X509Certificate. docs/decisions.md has the numbers.
import "./reflect-metadata.ts";
import * as x509 from "@peculiar/x509";
import { KeyObject, X509Certificate as NodeX509, createPrivateKey, createPublicKey, randomBytes, webcrypto } from "node:crypto";
import { fail, ok, type Result } from "./result.ts";
import { derToPem, pemBlocks } from "./pem.ts";
import { buildCsrDer, buildLeafDer, OID, parseCsrDer, subjectNameOfCertificate, verifyEcdsaSha256 } from "./x509-workload.ts";
import { DEFAULT_TRUST_DOMAIN, formatSpiffeId, type WorkloadIdentity } from "./spiffe.ts";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type { CryptoKey, CryptoKeyPair };

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const subtle = webcrypto.subtle;
const EC_KEY = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;

/** Default clock-skew allowance: leaves are valid from one minute before they are signed. */
export const DEFAULT_SKEW_MS = 60_000;

/** A CA as stored on disk or in a Secret: PEM certificate plus PKCS#8 PEM private key. */
export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

/** A CA loaded for signing: parsed once, then used for many leaves. */
export interface SigningAuthority {
  certPem: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  privateKey: CryptoKey;
  /** The same key as a Node KeyObject, for the synchronous hot path. */
  signingKey: KeyObject;
  /** The CA's subject Name as DER, copied byte for byte into the issuer field of what it signs. */
  nameDer: Buffer;
  /** Subject key identifier (hex) of the CA, written as the leaves' authority key identifier. */
  keyIdHex: string;
}

export interface IssuedLeaf {
  certPem: string;
  certDer: Buffer;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  spiffeId: string;
}

// ---------------------------------------------------------------- PEM (lib/pem.ts)

export { derToPem, pemBlocks, splitCertificates, type PemBlock } from "./pem.ts";

// ---------------------------------------------------------------- keys

/** A new ECDSA P-256 key pair (extractable, so the private key can be PEM-encoded for TLS). */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(EC_KEY, true, ["sign", "verify"])) as CryptoKeyPair;
}

export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  return derToPem("PRIVATE KEY", await subtle.exportKey("pkcs8", key));
}

/** Imports a PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY") P-256 key. */
export async function privateKeyFromPem(pem: string): Promise<Result<CryptoKey>> {
  const block = pemBlocks(pem).find((b) => b.label === "PRIVATE KEY" || b.label === "EC PRIVATE KEY");
  if (!block) return fail("no-private-key", "no PRIVATE KEY or EC PRIVATE KEY PEM block found");
  try {
    // SEC1 keys (openssl ecparam output) go through Node's parser to become PKCS#8.
    const keyObject = createPrivateKey({ key: derToPem(block.label, block.der), format: "pem" });
    if (keyObject.asymmetricKeyType !== "ec" || keyObject.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
      return fail("unsupported-key", "only ECDSA P-256 keys are supported");
    }
    const pkcs8 = keyObject.export({ format: "der", type: "pkcs8" });
    return ok(await subtle.importKey("pkcs8", pkcs8, EC_KEY, true, ["sign"]));
  } catch (err) {
    return fail("bad-private-key", `cannot parse private key: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------- CAs

export interface CaOptions {
  trustDomain?: string;
  commonName?: string;
  lifetimeMs: number;
  now?: Date;
}

function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive INTEGER
  if (bytes[0] === 0) bytes[0] = 1; // no leading zero byte, so DER stays minimal
  return bytes;
}

function randomSerialHex(): string {
  return randomSerial().toString("hex");
}

function caExtensions(pathLength: number | undefined): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ];
}

/** A new self-signed trust anchor (root CA). */
export async function createTrustAnchor(options: CaOptions): Promise<CertificateAuthority> {
  const trustDomain = options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const now = options.now ?? new Date();
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: [{ CN: [options.commonName ?? `root.weft.${trustDomain}`] }],
    notBefore: new Date(now.getTime() - DEFAULT_SKEW_MS),
    notAfter: new Date(now.getTime() + options.lifetimeMs),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [...caExtensions(undefined), await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await privateKeyToPem(keys.privateKey) };
}

/** A new issuer (intermediate CA, path length 0) signed by `anchor`; never outlives it. */
export async function createIssuer(anchor: CertificateAuthority, options: CaOptions): Promise<CertificateAuthority> {
  const loaded = await loadSigningAuthority(anchor);
  if (!loaded.ok) throw new Error(`trust anchor: ${loaded.message}`);
  const signer = loaded.value;
  const trustDomain = options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const now = options.now ?? new Date();
  const keys = await generateKeyPair();
  const notAfter = Math.min(now.getTime() + options.lifetimeMs, signer.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: [{ CN: [options.commonName ?? `identity.weft.${trustDomain}`] }],
    issuer: signer.subject,
    notBefore: new Date(now.getTime() - DEFAULT_SKEW_MS),
    notAfter: new Date(notAfter),
    publicKey: keys.publicKey,
    signingKey: signer.privateKey,
    signingAlgorithm: SIGNING,
    extensions: [
      ...caExtensions(0),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.AuthorityKeyIdentifierExtension(signer.keyIdHex),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await privateKeyToPem(keys.privateKey) };
}

/** Parses a CA's certificate and key and checks they belong together and the cert is a CA. */
export async function loadSigningAuthority(ca: CertificateAuthority): Promise<Result<SigningAuthority>> {
  const certBlock = pemBlocks(ca.certPem).find((b) => b.label === "CERTIFICATE");
  if (!certBlock) return fail("no-certificate", "no CERTIFICATE PEM block found");
  let cert: x509.X509Certificate;
  let nodeCert: NodeX509;
  try {
    cert = new x509.X509Certificate(certBlock.der);
    nodeCert = new NodeX509(certBlock.der);
  } catch (err) {
    return fail("bad-certificate", `cannot parse certificate: ${(err as Error).message}`);
  }
  if (!nodeCert.ca) return fail("not-a-ca", `certificate "${cert.subject}" is not a CA (basicConstraints CA:FALSE)`);
  const key = await privateKeyFromPem(ca.keyPem);
  if (!key.ok) return key;
  const ourPublic = createPublicKey(createPrivateKey({ key: Buffer.from(await subtle.exportKey("pkcs8", key.value)), format: "der", type: "pkcs8" }));
  if (!ourPublic.equals(nodeCert.publicKey)) return fail("key-mismatch", "the private key does not match the certificate");
  const nameDer = subjectNameOfCertificate(certBlock.der);
  if (!nameDer.ok) return nameDer;
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const keyIdHex = ski ? ski.keyId : (await x509.SubjectKeyIdentifierExtension.create(cert.publicKey)).keyId;
  return ok({
    certPem: derToPem("CERTIFICATE", certBlock.der),
    subject: cert.subject,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    privateKey: key.value,
    signingKey: KeyObject.from(key.value),
    nameDer: nameDer.value,
    keyIdHex,
  });
}

// ---------------------------------------------------------------- CSRs

/** A key pair as WebCrypto keys or Node KeyObjects. */
export interface KeyPairLike {
  privateKey: CryptoKey | KeyObject;
  publicKey: CryptoKey | KeyObject;
}

function toKeyObject(key: CryptoKey | KeyObject): KeyObject {
  return key instanceof KeyObject ? key : KeyObject.from(key);
}

function spkiOf(key: CryptoKey | KeyObject | Buffer): Buffer {
  if (Buffer.isBuffer(key)) return key;
  return toKeyObject(key).export({ format: "der", type: "spki" });
}

export interface CsrOptions {
  /** URI SANs to request (a proxy asks for its own SPIFFE id; the CA decides regardless). */
  uris?: string[];
  dnsNames?: string[];
}

/** A PKCS#10 CSR (PEM) for `keys`, signed with the private key: empty subject, requested SANs. */
export async function createCsr(keys: KeyPairLike, options: CsrOptions = {}): Promise<string> {
  return derToPem("CERTIFICATE REQUEST", buildCsrDer(spkiOf(keys.publicKey), options, toKeyObject(keys.privateKey)));
}

export interface ParsedCsr {
  /** DER SubjectPublicKeyInfo of the requester's key (ECDSA P-256). */
  publicKeySpki: Buffer;
  /** Every SAN requested, as `type:value` (e.g. `url:spiffe://...`, `dns:x`). */
  sans: string[];
}

export type CsrRefusal = "csr-malformed" | "csr-bad-signature" | "csr-unsupported-key";

/** Parses a CSR (PEM or DER) and checks its self-signature; a CSR that does not prove key possession is refused. */
export async function parseCsr(input: string | Uint8Array): Promise<Result<ParsedCsr, CsrRefusal>> {
  const derBytes = typeof input === "string"
    ? pemBlocks(input).find((b) => b.label === "CERTIFICATE REQUEST" || b.label === "NEW CERTIFICATE REQUEST")?.der
    : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (!derBytes || derBytes.byteLength === 0) return fail("csr-malformed", "no CERTIFICATE REQUEST found");
  const parsed = parseCsrDer(derBytes);
  if (!parsed.ok) return fail("csr-malformed", parsed.message);
  const csr = parsed.value;
  if (csr.keyAlgorithm !== OID.ecPublicKey || csr.curve !== OID.prime256v1) {
    return fail("csr-unsupported-key", `CSR key must be ECDSA P-256 (got key ${csr.keyAlgorithm} ${csr.curve})`);
  }
  if (csr.signatureAlgorithm !== OID.ecdsaWithSha256) {
    return fail("csr-unsupported-key", `CSR must be signed with ecdsa-with-SHA256 (got ${csr.signatureAlgorithm})`);
  }
  // Verifying against the DER key directly parses it once (and checks the point is on the curve);
  // a separate createPublicKey would parse it twice.
  if (!verifyEcdsaSha256(csr.signedData, csr.signature, csr.spki)) {
    return fail("csr-bad-signature", "CSR signature does not verify with its own public key");
  }
  return ok({ publicKeySpki: csr.spki, sans: csr.sans });
}

// ---------------------------------------------------------------- leaves

export interface LeafOptions {
  /** The requester's public key: from a verified CSR, or a locally generated key (or its DER SPKI). */
  publicKey: CryptoKey | KeyObject | Buffer;
  identity: WorkloadIdentity;
  lifetimeMs: number;
  now?: Date;
  skewMs?: number;
}

/** The leaf's validity (whole seconds): back-dated by the skew allowance, never beyond the issuer's expiry. */
export function leafValidity(issuer: Pick<SigningAuthority, "notAfter">, lifetimeMs: number, now: Date, skewMs = DEFAULT_SKEW_MS): { notBefore: Date; notAfter: Date } {
  const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  const notAfter = Math.min(now.getTime() + lifetimeMs, issuer.notAfter.getTime());
  return { notBefore: second(now.getTime() - skewMs), notAfter: second(notAfter) };
}

/** Signs a workload leaf: its only SAN is the SPIFFE id; usable for TLS server and client auth, not as a CA. */
export async function signLeaf(issuer: SigningAuthority, options: LeafOptions): Promise<IssuedLeaf> {
  const leaf = signLeafDer(issuer, options);
  return { ...leaf, certPem: derToPem("CERTIFICATE", leaf.certDer) };
}

/** signLeaf without the PEM encoding, synchronously: the identity service's hot path sends DER. */
export function signLeafDer(issuer: SigningAuthority, options: LeafOptions): Omit<IssuedLeaf, "certPem"> {
  const spiffeId = formatSpiffeId(options.identity);
  const { notBefore, notAfter } = leafValidity(issuer, options.lifetimeMs, options.now ?? new Date(), options.skewMs);
  const serial = randomSerial();
  const certDer = buildLeafDer({
    serial,
    issuerName: issuer.nameDer,
    issuerKeyId: Buffer.from(issuer.keyIdHex, "hex"),
    notBefore,
    notAfter,
    spki: spkiOf(options.publicKey),
    spiffeId,
    signingKey: issuer.signingKey,
  });
  return { certDer, serialHex: serial.toString("hex"), notBefore, notAfter, spiffeId };
}

// ---------------------------------------------------------------- verification

export { spiffeIdOfCertificate, verifyChain, type VerifiedChain } from "./x509-verify.ts";
