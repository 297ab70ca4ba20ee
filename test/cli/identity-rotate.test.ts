// The rotation steps' checks, refused before anything is written when the control plane would refuse too.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { createIssuer, createTrustAnchor, splitCertificates } from "../../lib/pki.ts";
import { bundleWithAnchors, bundleWithoutAnchors, checkIssuerSwitch, describeCa } from "../../cli/src/identity-rotate.ts";

const fp = (pem: string): string => new X509Certificate(pem).fingerprint256;

describe("weft identity: the rotation steps' checks", () => {
  it("adds anchors once, keeps the old ones first, and refuses a non-CA certificate", async () => {
    const a = await createTrustAnchor({ lifetimeMs: 86_400_000, commonName: "A" });
    const b = await createTrustAnchor({ lifetimeMs: 86_400_000, commonName: "B" });
    const issuer = await createIssuer(a, { lifetimeMs: 3_600_000 });
    const state = { anchorsPem: a.certPem, issuerCertPem: issuer.certPem, issuerKeyPem: issuer.keyPem };
    const added = bundleWithAnchors(state, b.certPem + a.certPem);
    assert.ok(added.ok);
    assert.equal(added.value.added, 1);
    assert.deepEqual(splitCertificates(added.value.bundle).map(fp), [fp(a.certPem), fp(b.certPem)]);
    assert.equal(bundleWithAnchors(state, "not a pem").ok, false);
  });

  it("refuses to switch to an issuer no anchor in the bundle signed, and to drop the anchor the issuer in use needs", async () => {
    const a = await createTrustAnchor({ lifetimeMs: 86_400_000, commonName: "A" });
    const b = await createTrustAnchor({ lifetimeMs: 86_400_000, commonName: "B" });
    const issuerA = await createIssuer(a, { lifetimeMs: 3_600_000 });
    const issuerB = await createIssuer(b, { lifetimeMs: 3_600_000 });
    const onlyA = { anchorsPem: a.certPem, issuerCertPem: issuerA.certPem, issuerKeyPem: issuerA.keyPem };
    const switchEarly = await checkIssuerSwitch(onlyA, issuerB.certPem, issuerB.keyPem);
    assert.equal(switchEarly.ok ? "" : switchEarly.code, "issuer-untrusted");
    assert.match(switchEarly.ok ? "" : switchEarly.message, /weft identity bundle add/);
    const wrongKey = await checkIssuerSwitch({ ...onlyA, anchorsPem: a.certPem + b.certPem }, issuerB.certPem, issuerA.keyPem);
    assert.equal(wrongKey.ok, false, "a key that is not the certificate's");

    const both = { anchorsPem: a.certPem + b.certPem, issuerCertPem: issuerA.certPem, issuerKeyPem: issuerA.keyPem };
    const dropEarly = await bundleWithoutAnchors(both, { fingerprints: [fp(a.certPem)], pems: [] });
    assert.equal(dropEarly.ok ? "" : dropEarly.code, "issuer-needs-anchor");
    const switched = { ...both, issuerCertPem: issuerB.certPem, issuerKeyPem: issuerB.keyPem };
    assert.ok((await checkIssuerSwitch(both, issuerB.certPem, issuerB.keyPem)).ok);
    const drop = await bundleWithoutAnchors(switched, { fingerprints: [fp(a.certPem).replace(/:/g, "").slice(0, 10).toLowerCase()], pems: [] });
    assert.ok(drop.ok, drop.ok ? "" : drop.message);
    assert.deepEqual(splitCertificates(drop.value.bundle).map(fp), [fp(b.certPem)]);
    const byFile = await bundleWithoutAnchors(switched, { fingerprints: [], pems: [a.certPem] });
    assert.ok(byFile.ok);
    assert.equal((await bundleWithoutAnchors(switched, { fingerprints: ["ff:ff:ff"], pems: [] })).ok, false, "an unknown fingerprint");
    assert.equal((await bundleWithoutAnchors({ ...switched, anchorsPem: b.certPem }, { fingerprints: [], pems: [b.certPem] })).ok, false, "never the last anchor");
    assert.match(describeCa(switched).join("\n"), /CN=B.*\(signed the issuer\)/);
  });
});
