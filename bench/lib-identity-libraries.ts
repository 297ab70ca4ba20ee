// The measurement behind lib/pki.ts's choice of libraries (docs/decisions.md):
// CPU per operation of the certificate hot path with @peculiar/x509 (ASN.1 in
// JS over WebCrypto), with Weft's fixed-layout DER over Node's crypto, and with
// node-forge (which has no ECDSA, so RSA-2048 is its best stand-in).
import "../lib/reflect-metadata.ts";
import * as x509 from "@peculiar/x509";
import forge from "node-forge";
import { createCsr, createIssuer, createTrustAnchor, generateKeyPair, loadSigningAuthority, parseCsr, signLeaf } from "../lib/pki.ts";

async function cpuPerOp(f: () => unknown, n: number): Promise<number> {
  for (let i = 0; i < Math.ceil(n / 10); i++) await f();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

export async function compareLibraries(): Promise<{ name: string; microsPerOp: number }[]> {
  const anchor = await createTrustAnchor({ lifetimeMs: 86_400_000 * 365 });
  const issuerCa = await createIssuer(anchor, { lifetimeMs: 86_400_000 * 30 });
  const loaded = await loadSigningAuthority(issuerCa);
  if (!loaded.ok) throw new Error(loaded.message);
  const issuer = loaded.value;
  const keys = await generateKeyPair();
  const spiffeId = "spiffe://cluster.local/ns/a/sa/b";
  const csrPem = await createCsr(keys, { uris: [spiffeId] });
  const identity = { trustDomain: "cluster.local", namespace: "a", serviceAccount: "b" };
  const rsa = forge.pki.rsa.generateKeyPair(2048);
  const rows: { name: string; microsPerOp: number }[] = [];
  const add = async (name: string, f: () => unknown, n = 400) => rows.push({ name, microsPerOp: await cpuPerOp(f, n) });

  await add("@peculiar/x509: parse + verify CSR", async () => {
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    await csr.verify();
    csr.getExtension("2.5.29.17");
  });
  await add("@peculiar/x509: sign leaf (ECDSA P-256)", () =>
    x509.X509CertificateGenerator.create({
      serialNumber: "01",
      subject: "",
      issuer: issuer.subject,
      notBefore: new Date(),
      notAfter: new Date(Date.now() + 86_400_000),
      publicKey: keys.publicKey,
      signingKey: issuer.privateKey,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.SubjectAlternativeNameExtension([{ type: "url", value: spiffeId }], true),
      ],
    }));
  await add("weft DER + node:crypto: parse + verify CSR", () => parseCsr(csrPem), 2000);
  await add("weft DER + node:crypto: sign leaf (ECDSA P-256)", () => signLeaf(issuer, { publicKey: keys.publicKey, identity, lifetimeMs: 86_400_000 }), 2000);
  await add("node-forge: sign leaf (RSA-2048; no ECDSA)", () => {
    const cert = forge.pki.createCertificate();
    cert.publicKey = rsa.publicKey;
    cert.serialNumber = "01";
    cert.validity.notBefore = new Date();
    cert.validity.notAfter = new Date(Date.now() + 86_400_000);
    cert.setExtensions([{ name: "subjectAltName", altNames: [{ type: 6, value: spiffeId }] }]);
    cert.sign(rsa.privateKey, forge.md.sha256.create());
    return forge.pki.certificateToPem(cert);
  }, 40);
  return rows;
}
