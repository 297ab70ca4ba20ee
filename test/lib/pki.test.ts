import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
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
    const seen: string[] = [];
    const srv = tls.createServer({ key: server.keyPem, cert: server.certChainPem, ca: mesh.anchorPem, requestCert: true, rejectUnauthorized: true }, (s) => {
      const id = spiffeIdOfCertificate(s.getPeerX509Certificate()!);
      seen.push(id.ok ? id.value.uri : id.message);
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
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(seen, [client.spiffeId]);
    } finally {
      srv.close();
    }
  });
});
