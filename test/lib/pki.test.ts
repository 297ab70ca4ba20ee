import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import "../../lib/reflect-metadata.ts";
import * as x509 from "@peculiar/x509";
import * as der from "../../lib/der.ts";
import { createCsr, generateKeyPair, leafValidity, parseCsr, signLeaf, spiffeIdOfCertificate, verifyChain } from "../../lib/pki.ts";
import { createTestMesh, issueTestLeaf, type TestMesh } from "../fixtures/mesh-pki.ts";

describe("mesh PKI", () => {
  let mesh: TestMesh;
  let dir: string;
  before(async () => {
    mesh = await createTestMesh({ trustDomain: "example.org" });
    dir = mkdtempSync(join(tmpdir(), "weft-pki-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("signs a leaf whose chain openssl verifies against the anchor", async () => {
    const leaf = await issueTestLeaf(mesh, { namespace: "shop", serviceAccount: "cart" });
    writeFileSync(join(dir, "ca.crt"), mesh.anchorPem);
    writeFileSync(join(dir, "issuer.crt"), mesh.issuerCertPem);
    writeFileSync(join(dir, "leaf.crt"), leaf.certPem);
    const out = execFileSync("openssl", ["verify", "-CAfile", join(dir, "ca.crt"), "-untrusted", join(dir, "issuer.crt"), join(dir, "leaf.crt")]);
    assert.match(out.toString(), /leaf.crt: OK/);
    assert.equal(leaf.spiffeId, "spiffe://example.org/ns/shop/sa/cart");
    const id = spiffeIdOfCertificate(leaf.certPem);
    assert.ok(id.ok);
    assert.equal(id.value.uri, leaf.spiffeId);
  });

  it("writes CSRs that openssl accepts and reads openssl's CSRs", async () => {
    const keys = await generateKeyPair();
    const csr = await createCsr(keys, { uris: ["spiffe://example.org/ns/a/sa/b"] });
    writeFileSync(join(dir, "ours.csr"), csr);
    const text = execFileSync("openssl", ["req", "-in", join(dir, "ours.csr"), "-noout", "-verify", "-text"], { stdio: ["ignore", "pipe", "pipe"] }).toString();
    assert.match(text, /URI:spiffe:\/\/example.org\/ns\/a\/sa\/b/);
    execFileSync("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, "o.key"), "-out", join(dir, "o.csr"),
      "-subj", "/CN=ignored", "-addext", "subjectAltName=URI:spiffe://example.org/ns/x/sa/y,DNS:extra.example"], { stdio: "ignore" });
    const theirs = await parseCsr(readFileSync(join(dir, "o.csr"), "utf8"));
    assert.ok(theirs.ok, theirs.ok ? "" : theirs.message);
    assert.deepEqual(theirs.value.sans, ["url:spiffe://example.org/ns/x/sa/y", "dns:extra.example"]);
    execFileSync("openssl", ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "r.key"), "-out", join(dir, "r.csr"), "-subj", "/CN=rsa"], { stdio: "ignore" });
    const rsa = await parseCsr(readFileSync(join(dir, "r.csr"), "utf8"));
    assert.equal(rsa.ok ? "ok" : rsa.code, "csr-unsupported-key");
  });

  it("signs leaves that @peculiar/x509 parses with the expected extensions", async () => {
    const leaf = await issueTestLeaf(mesh, { namespace: "shop", serviceAccount: "cart" });
    const cert = new x509.X509Certificate(leaf.certPem);
    assert.equal(cert.subject, "");
    assert.equal(cert.issuer, new x509.X509Certificate(mesh.issuerCertPem).subject);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    assert.deepEqual(san?.names.toJSON(), [{ type: "url", value: leaf.spiffeId }]);
    assert.equal(san?.critical, true);
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
    assert.ok(await cert.verify({ publicKey: new x509.X509Certificate(mesh.issuerCertPem).publicKey, signatureOnly: true }));
  });

  it("verifies a chain in process and refuses one from a foreign mesh", async () => {
    const leaf = await issueTestLeaf(mesh, { namespace: "shop", serviceAccount: "cart" });
    const good = verifyChain(leaf.certPem, mesh.issuerCertPem, mesh.anchorPem);
    assert.ok(good.ok);
    assert.equal(good.value.spiffeId, leaf.spiffeId);
    const other = await createTestMesh();
    const bad = verifyChain(leaf.certPem, mesh.issuerCertPem, other.anchorPem);
    assert.equal(bad.ok, false);
  });

  it("parses a CSR's requested SANs and refuses one with a broken signature", async () => {
    const keys = await generateKeyPair();
    const csr = await createCsr(keys, { uris: ["spiffe://example.org/ns/a/sa/b"], dnsNames: ["evil.example"] });
    const parsed = await parseCsr(csr);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value.sans, ["url:spiffe://example.org/ns/a/sa/b", "dns:evil.example"]);
    const der = Buffer.from(csr.replace(/-----[A-Z ]+-----|\s/g, ""), "base64");
    der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0xff; // inside the signature
    const broken = await parseCsr(der);
    assert.equal(broken.ok, false);
    assert.ok(!broken.ok && ["csr-bad-signature", "csr-malformed"].includes(broken.code));
    const garbage = await parseCsr(Buffer.from("not a csr"));
    assert.equal(garbage.ok, false);
  });

  it("refuses every truncated or bit-flipped CSR with a reason and never throws", async () => {
    const keys = await generateKeyPair();
    const der = Buffer.from((await createCsr(keys, { uris: ["spiffe://example.org/ns/a/sa/b"] })).replace(/-----[A-Z ]+-----|\s/g, ""), "base64");
    for (let n = 0; n < der.length; n++) {
      const r = await parseCsr(der.subarray(0, n));
      assert.equal(r.ok, false, `prefix ${n}`);
    }
    for (let i = 0; i < der.length; i++) {
      const copy = Buffer.from(der);
      copy[i] = (copy[i] ?? 0) ^ 0x41;
      const r = await parseCsr(copy);
      if (!r.ok) assert.ok(["csr-malformed", "csr-bad-signature", "csr-unsupported-key"].includes(r.code), r.code);
    }
  });

  it("encodes and reads back DER lengths of every size class", () => {
    for (const n of [0, 1, 127, 128, 255, 256, 65535, 65536, 70000]) {
      const encoded = der.tlv(0x04, Buffer.alloc(n, 1));
      const read = der.readOnly(encoded, 0x04);
      assert.ok(read.ok, `length ${n}`);
      assert.equal(read.value.end - read.value.valueStart, n);
    }
    assert.equal(der.decodeOid(der.oid("1.2.840.10045.4.3.2").subarray(2)), "1.2.840.10045.4.3.2");
  });

  it("never lets a leaf outlive its issuer and back-dates it for clock skew", async () => {
    const now = new Date("2030-01-01T00:00:00Z");
    const v = leafValidity({ notAfter: new Date("2030-01-01T01:00:00Z") }, 24 * 3_600_000, now);
    assert.equal(v.notAfter.toISOString(), "2030-01-01T01:00:00.000Z");
    assert.equal(v.notBefore.toISOString(), "2029-12-31T23:59:00.000Z");
    const keys = await generateKeyPair();
    const leaf = await signLeaf(mesh.issuer, { publicKey: keys.publicKey, identity: { trustDomain: "example.org", namespace: "a", serviceAccount: "b" }, lifetimeMs: 10 * 365 * 86_400_000 });
    assert.equal(leaf.notAfter.getTime(), mesh.issuer.notAfter.getTime());
  });

  it("gives two workloads certificates they can complete mutual TLS with", async () => {
    const server = await issueTestLeaf(mesh, { namespace: "shop", serviceAccount: "cart" });
    const client = await issueTestLeaf(mesh, { namespace: "web", serviceAccount: "frontend" });
    let serverSaw!: (id: string) => void;
    const seen = new Promise<string>((resolve) => (serverSaw = resolve));
    const srv = tls.createServer({ key: server.keyPem, cert: server.certChainPem, ca: mesh.anchorPem, requestCert: true, rejectUnauthorized: true }, (s) => {
      const id = spiffeIdOfCertificate(s.getPeerX509Certificate()!);
      serverSaw(id.ok ? id.value.uri : id.message);
      s.end("hi");
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    try {
      const port = (srv.address() as { port: number }).port;
      const got = await new Promise<string>((resolve, reject) => {
        const c = tls.connect({ host: "127.0.0.1", port, key: client.keyPem, cert: client.certChainPem, ca: mesh.anchorPem, checkServerIdentity: () => undefined }, () => {
          const id = spiffeIdOfCertificate(c.getPeerX509Certificate()!);
          resolve(id.ok ? id.value.uri : id.message);
          c.end();
        });
        c.on("error", reject);
      });
      assert.equal(got, server.spiffeId);
      assert.equal(await seen, client.spiffeId);
    } finally {
      srv.close();
    }
  });
});
