import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { caBundleFromPem } from "../../control-plane/src/ca-files.ts";
import { generateKeyPair, signLeaf } from "../../lib/pki.ts";
import { createTestMesh } from "../fixtures/mesh-pki.ts";

describe("identity: which issuer files the control plane accepts", function () {
  this.timeout(30_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "weft-ca-files-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("accepts a self-signed ECDSA CA with a SEC1 key as both anchor and issuer (the chart's trial CA)", async () => {
    execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", join(dir, "ca.key")]);
    execFileSync("openssl", ["req", "-x509", "-new", "-key", join(dir, "ca.key"), "-days", "10", "-subj", "/CN=weft trial trust anchor",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", join(dir, "ca.crt")]);
    const ca = readFileSync(join(dir, "ca.crt"), "utf8");
    assert.match(readFileSync(join(dir, "ca.key"), "utf8"), /BEGIN EC PRIVATE KEY/);
    const bundle = await caBundleFromPem(ca, readFileSync(join(dir, "ca.key"), "utf8"), ca);
    assert.ok(bundle.ok, bundle.ok ? "" : bundle.message);
    const keys = await generateKeyPair();
    const leaf = await signLeaf(bundle.value.issuer, { publicKey: keys.publicKey, identity: { trustDomain: "cluster.local", namespace: "a", serviceAccount: "b" }, lifetimeMs: 3_600_000 });
    writeFileSync(join(dir, "leaf.crt"), leaf.certPem);
    assert.match(execFileSync("openssl", ["verify", "-CAfile", join(dir, "ca.crt"), join(dir, "leaf.crt")]).toString(), /OK/);
  });

  it("refuses a key that does not match, a leaf posing as issuer, an issuer no anchor signed, an expired issuer, and RSA keys, each with a reason", async () => {
    const mesh = await createTestMesh();
    const other = await createTestMesh();
    const code = async (cert: string, key: string, anchors: string, now?: Date) => {
      const r = await caBundleFromPem(cert, key, anchors, now);
      return r.ok ? "ok" : r.code;
    };
    assert.equal(await code(mesh.issuerCertPem, mesh.issuerKeyPem, mesh.anchorPem), "ok");
    assert.equal(await code(mesh.issuerCertPem, other.issuerKeyPem, mesh.anchorPem), "issuer-key-mismatch");
    assert.equal(await code(mesh.issuerCertPem, mesh.issuerKeyPem, other.anchorPem), "issuer-untrusted");
    assert.equal(await code(mesh.issuerCertPem, mesh.issuerKeyPem, ""), "anchors-missing");
    assert.equal(await code(mesh.issuerCertPem, mesh.issuerKeyPem, mesh.anchorPem, new Date(Date.now() + 30 * 86_400_000)), "issuer-expired");
    const leafKeys = await generateKeyPair();
    const leaf = await signLeaf(mesh.issuer, { publicKey: leafKeys.publicKey, identity: { trustDomain: "cluster.local", namespace: "a", serviceAccount: "b" }, lifetimeMs: 3_600_000 });
    assert.equal(await code(leaf.certPem, mesh.issuerKeyPem, mesh.anchorPem), "issuer-not-a-ca");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "rsa.key"), "-days", "1", "-subj", "/CN=rsa", "-addext", "basicConstraints=critical,CA:TRUE", "-out", join(dir, "rsa.crt")], { stdio: "ignore" });
    const rsa = readFileSync(join(dir, "rsa.crt"), "utf8");
    assert.equal(await code(rsa, readFileSync(join(dir, "rsa.key"), "utf8"), rsa), "issuer-unsupported-key");
    assert.equal(await code("garbage", "garbage", mesh.anchorPem), "issuer-no-certificate");
  });
});
