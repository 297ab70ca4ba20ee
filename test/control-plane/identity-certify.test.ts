import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { createCsr, createIssuer, createTrustAnchor, generateKeyPair, pemBlocks, splitCertificates, spiffeIdOfCertificate } from "../../lib/pki.ts";
import { IdentityClient } from "../../sidecar/src/identity/client.ts";
import { waitFor } from "../support/wait.ts";
import { startIdentityHarness, type IdentityHarness } from "./identity-harness.ts";

async function csrDer(uris: string[] = [], dnsNames: string[] = []): Promise<Buffer> {
  const pem = await createCsr(await generateKeyPair(), { uris, dnsNames });
  return pemBlocks(pem)[0]!.der;
}

describe("identity service: issuing certificates over gRPC", function () {
  this.timeout(60_000);
  let h: IdentityHarness;
  let client: IdentityClient;
  const cart = "spiffe://cluster.local/ns/shop/sa/cart";

  before(async () => {
    h = await startIdentityHarness();
    client = new IdentityClient({ address: h.address, trustAnchorsPem: h.mesh.anchorPem, serverIdentity: h.controlPlaneSpiffeId });
  });
  after(async () => {
    client?.close();
    await h?.stop();
  });

  it("issues a leaf for the token's identity whose chain openssl verifies against the anchor", async () => {
    const token = h.mint({ namespace: "shop", serviceAccount: "cart" });
    const before = await h.metricValue("weft_identity_certificates_issued_total");
    const result = await client.certify({ token, csrDer: await csrDer([cart]), identity: cart });
    assert.ok(result.ok, result.ok ? "" : result.message);
    const [leaf, issuer] = splitCertificates(result.value.certChainPem);
    assert.ok(leaf && issuer);
    writeFileSync(join(h.dir, "anchor.pem"), result.value.trustAnchorsPem);
    writeFileSync(join(h.dir, "untrusted.pem"), issuer);
    writeFileSync(join(h.dir, "leaf.pem"), leaf);
    const out = execFileSync("openssl", ["verify", "-CAfile", join(h.dir, "anchor.pem"), "-untrusted", join(h.dir, "untrusted.pem"), join(h.dir, "leaf.pem")]).toString();
    assert.match(out, /leaf.pem: OK/);
    const id = spiffeIdOfCertificate(leaf);
    assert.ok(id.ok);
    assert.equal(id.value.uri, cart);
    const lifetime = result.value.notAfter.getTime() - Date.now();
    assert.ok(lifetime > 3_500_000 && lifetime <= 3_600_000, `lifetime ${lifetime}`);
    assert.equal(await h.metricValue("weft_identity_certificates_issued_total"), before + 1);
  });

  it("issues for a CSR that names no SAN at all, from the token alone", async () => {
    const result = await client.certify({ token: h.mint({ namespace: "shop", serviceAccount: "cart" }), csrDer: await csrDer() });
    assert.ok(result.ok, result.ok ? "" : result.message);
    const id = spiffeIdOfCertificate(splitCertificates(result.value.certChainPem)[0]!);
    assert.equal(id.ok && id.value.uri, cart);
  });

  describe("refusals: each bad input gets a status and a reason, nothing is issued, and the service keeps serving", () => {
    const raw = (bytes: Buffer) =>
      new Promise<grpc.ServiceError | null>((resolve) => {
        const creds = grpc.credentials.createSsl(Buffer.from(h.watcher.current()!.anchorsPem), null, null, { checkServerIdentity: () => undefined });
        const c = new grpc.Client(h.address, creds, { "grpc.ssl_target_name_override": "identity.weft.invalid" });
        c.makeUnaryRequest("/weft.identity.v1.Identity/Certify", (b: Buffer) => b, (b: Buffer) => b, bytes, (err) => {
          c.close();
          resolve(err);
        });
      });
    const good = () => h.mint({ namespace: "shop", serviceAccount: "cart" });
    const cases: { name: string; reason: string; status: string; message: RegExp; send: () => Promise<{ code: string; message: string }> }[] = [
      { name: "a token that is missing", reason: "token-missing", status: "UNAUTHENTICATED", message: /no token/, send: async () => call("", await csrDer([cart])) },
      { name: "a token that is not one of ours", reason: "token-malformed", status: "UNAUTHENTICATED", message: /not a weft local token/, send: async () => call("eyJhbGciOi.garbage.x", await csrDer([cart])) },
      { name: "a token with a forged signature", reason: "token-invalid", status: "UNAUTHENTICATED", message: /signature/, send: async () => call(good().slice(0, -4) + "AAAA", await csrDer([cart])) },
      { name: "a token that has expired", reason: "token-expired", status: "UNAUTHENTICATED", message: /expired/, send: async () => call(h.mint({ namespace: "shop", serviceAccount: "cart", ttlMs: -60_000 }), await csrDer([cart])) },
      { name: "a token for another audience", reason: "token-wrong-audience", status: "UNAUTHENTICATED", message: /audience "kubernetes"/, send: async () => call(h.mint({ namespace: "shop", serviceAccount: "cart", audience: "kubernetes" }), await csrDer([cart])) },
      { name: "a missing CSR", reason: "csr-missing", status: "INVALID_ARGUMENT", message: /no certificate_signing_request/, send: async () => call(good(), Buffer.alloc(0)) },
      { name: "a CSR that is not DER", reason: "csr-malformed", status: "INVALID_ARGUMENT", message: /CSR/, send: async () => call(good(), Buffer.from("hello world")) },
      {
        name: "a CSR with a bad signature", reason: "csr-bad-signature", status: "INVALID_ARGUMENT", message: /signature does not verify/,
        send: async () => {
          // Change one character of the requested URI: still well-formed, no longer what was signed.
          const der = await csrDer(["spiffe://cluster.local/ns/shop/sa/cart"]);
          const at = der.indexOf(Buffer.from("sa/cart"));
          der[at + 3] = "k".charCodeAt(0);
          return call(good(), der);
        },
      },
      { name: "a CSR asking for another identity", reason: "csr-identity-mismatch", status: "PERMISSION_DENIED", message: /asks for spiffe:\/\/cluster.local\/ns\/shop\/sa\/admin/, send: async () => call(good(), await csrDer(["spiffe://cluster.local/ns/shop/sa/admin"])) },
      { name: "a CSR asking for extra SANs", reason: "csr-extra-sans", status: "PERMISSION_DENIED", message: /dns:db.shop.svc/, send: async () => call(good(), await csrDer([cart], ["db.shop.svc"])) },
      { name: "a request naming another identity", reason: "identity-mismatch", status: "PERMISSION_DENIED", message: /token proves spiffe:\/\/cluster.local\/ns\/shop\/sa\/cart/, send: async () => call(good(), await csrDer(), "spiffe://cluster.local/ns/kube-system/sa/default") },
      { name: "an oversized message", reason: "message-too-large", status: "RESOURCE_EXHAUSTED", message: /limit is 65536/, send: async () => call("x".repeat(100 * 1024), await csrDer([cart])) },
      {
        name: "bytes that are not a CertifyRequest", reason: "request-malformed", status: "INVALID_ARGUMENT", message: /not a CertifyRequest/,
        send: async () => {
          const err = await raw(Buffer.from([0x0a, 0x80]));
          return { code: grpc.status[err?.code ?? 0] ?? "", message: err?.details ?? "" };
        },
      },
    ];

    async function call(token: string, der: Buffer, identity?: string): Promise<{ code: string; message: string }> {
      const r = await client.certify({ token, csrDer: der, ...(identity ? { identity } : {}) });
      return r.ok ? { code: "OK", message: "issued" } : { code: r.code, message: r.message };
    }

    for (const c of cases) {
      it(`refuses ${c.name} with ${c.status} (${c.reason})`, async () => {
        const refusedBefore = await h.metricValue("weft_identity_certificates_refused_total", { reason: c.reason });
        const issuedBefore = await h.metricValue("weft_identity_certificates_issued_total");
        const got = await c.send();
        assert.equal(got.code, c.status, got.message);
        assert.match(got.message, new RegExp(`^${c.reason}: `));
        assert.match(got.message, c.message);
        assert.equal(await h.metricValue("weft_identity_certificates_refused_total", { reason: c.reason }), refusedBefore + 1);
        assert.equal(await h.metricValue("weft_identity_certificates_issued_total"), issuedBefore);
        const after = await client.certify({ token: good(), csrDer: await csrDer([cart]) });
        assert.ok(after.ok, "the service still issues after a refusal");
      });
    }
  });

  it("picks up a replaced issuer from disk without a restart: new leaves chain to the new issuer", async () => {
    const anchor = await createTrustAnchor({ lifetimeMs: 86_400_000 });
    const issuer = await createIssuer(anchor, { lifetimeMs: 3_600_000 });
    // Both anchors in the bundle while rotating, as an operator would do it.
    h.writeIssuer({ ca: h.mesh.anchorPem + anchor.certPem, cert: issuer.certPem, key: issuer.keyPem });
    const { X509Certificate } = await import("node:crypto");
    const newIssuerFp = new X509Certificate(issuer.certPem).fingerprint256;
    const issued = await waitFor("a leaf signed by the new issuer", async () => {
      const r = await client.certify({ token: h.mint({ namespace: "shop", serviceAccount: "cart" }), csrDer: await csrDer() });
      assert.ok(r.ok, r.ok ? "" : r.message);
      const [, chainIssuer] = splitCertificates(r.value.certChainPem);
      return new X509Certificate(chainIssuer!).fingerprint256 === newIssuerFp && { ...r.value, chainIssuer: chainIssuer! };
    }, { timeoutMs: 20_000, intervalMs: 100 });
    assert.equal(splitCertificates(issued.trustAnchorsPem).length, 2);
    writeFileSync(join(h.dir, "anchor2.pem"), anchor.certPem);
    writeFileSync(join(h.dir, "untrusted2.pem"), issued.chainIssuer);
    writeFileSync(join(h.dir, "leaf2.pem"), splitCertificates(issued.certChainPem)[0]!);
    execFileSync("openssl", ["verify", "-CAfile", join(h.dir, "anchor2.pem"), "-untrusted", join(h.dir, "untrusted2.pem"), join(h.dir, "leaf2.pem")]);
    assert.ok((await h.metricValue("weft_identity_issuer_reloads_total", { result: "loaded" })) >= 2);
  });

  it("keeps the last good issuer when the files change to something that does not load", async () => {
    const current = h.watcher.current()!.fingerprint;
    const stranger = await createTrustAnchor({ lifetimeMs: 86_400_000 });
    const orphan = await createIssuer(stranger, { lifetimeMs: 3_600_000 });
    const failedBefore = await h.metricValue("weft_identity_issuer_reloads_total", { result: "failed" });
    h.writeIssuer({ ca: h.mesh.anchorPem, cert: orphan.certPem, key: orphan.keyPem }); // issuer not signed by the anchor
    await waitFor("the refused reload to be counted", async () => (await h.metricValue("weft_identity_issuer_reloads_total", { result: "failed" })) > failedBefore, { timeoutMs: 20_000 });
    assert.equal(h.watcher.current()!.fingerprint, current);
    const r = await client.certify({ token: h.mint({ namespace: "shop", serviceAccount: "cart" }), csrDer: await csrDer() });
    assert.ok(r.ok);
  });

  it("exports how long the issuer has left", async () => {
    const seconds = await h.metricValue("weft_identity_issuer_expiry_seconds");
    const expected = (h.watcher.current()!.issuer.notAfter.getTime() - Date.now()) / 1000;
    assert.ok(Math.abs(seconds - expected) < 5, `${seconds} vs ${expected}`);
    assert.ok(seconds > 0);
  });

  it("serves a certificate with the control plane's SPIFFE id, and a client expecting another id refuses it", async () => {
    const wrong = new IdentityClient({ address: h.address, trustAnchorsPem: h.mesh.anchorPem, serverIdentity: "spiffe://cluster.local/ns/evil/sa/mitm", deadlineMs: 3_000 });
    try {
      const r = await wrong.certify({ token: h.mint({ namespace: "shop", serviceAccount: "cart" }), csrDer: await csrDer() });
      assert.equal(r.ok, false);
    } finally {
      wrong.close();
    }
  });
});
