import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log.ts";
import { parseCsr, signLeaf } from "../../lib/pki.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { CredentialStore } from "../../sidecar/src/identity/credentials-store.ts";
import type { CertifyResult } from "../../sidecar/src/identity/client.ts";
import { IdentityRenewer, type Certifier } from "../../sidecar/src/identity/renewer.ts";
import { createTestMesh, type TestMesh } from "../fixtures/mesh-pki.ts";

/** A certifier that signs for real with a test mesh, and can be switched to failing (the control plane is down). */
class SwitchableCertifier implements Certifier {
  down = false;
  calls: { at: number; ok: boolean }[] = [];
  csrKeys = new Set<string>();
  readonly mesh: TestMesh;
  readonly lifetimeMs: number;
  constructor(mesh: TestMesh, lifetimeMs: number) {
    this.mesh = mesh;
    this.lifetimeMs = lifetimeMs;
  }
  async certify(request: { token: string; csrDer: Buffer }): Promise<Result<CertifyResult>> {
    if (this.down) {
      this.calls.push({ at: Date.now(), ok: false });
      return fail("UNAVAILABLE", "control plane unreachable");
    }
    const csr = await parseCsr(request.csrDer);
    if (!csr.ok) return csr;
    this.csrKeys.add(csr.value.publicKeySpki.toString("hex"));
    const leaf = await signLeaf(this.mesh.issuer, { publicKey: csr.value.publicKeySpki, identity: { trustDomain: "cluster.local", namespace: "shop", serviceAccount: "cart" }, lifetimeMs: this.lifetimeMs });
    this.calls.push({ at: Date.now(), ok: true });
    return ok({ certChainPem: leaf.certPem + this.mesh.issuerCertPem, trustAnchorsPem: this.mesh.anchorPem, notAfter: leaf.notAfter });
  }
}

describe("sidecar identity: renewal when the control plane is down", function () {
  this.timeout(60_000);

  it("keeps serving the certificate it has, retries with backoff, renews with a new key once the control plane is back", async () => {
    const mesh = await createTestMesh();
    const certifier = new SwitchableCertifier(mesh, 6_000);
    const store = new CredentialStore();
    const renewer = new IdentityRenewer({
      certifier,
      store,
      token: () => "t",
      spiffeId: "spiffe://cluster.local/ns/shop/sa/cart",
      logger: silentLogger(),
      policy: { retryBaseMs: 100, retryMaxMs: 400 },
    });
    try {
      await renewer.start();
      const first = store.current()!;
      certifier.down = true;
      // Renewal is due after ~4 s; let it fail several times.
      await new Promise((r) => setTimeout(r, 5_500));
      const failures = certifier.calls.filter((c) => !c.ok);
      assert.ok(failures.length >= 3, `only ${failures.length} retries`);
      assert.equal(store.current(), first, "still serving the first certificate");
      const gaps = failures.slice(1).map((f, i) => f.at - failures[i]!.at);
      assert.ok(gaps.every((g) => g >= 40 && g <= 2_000), `retry gaps ${gaps.join(",")}`);
      certifier.down = false;
      const deadline = Date.now() + 5_000;
      while (store.current() === first) {
        assert.ok(Date.now() < deadline, "no renewal after the control plane came back");
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(certifier.csrKeys.size, 2, "each renewal uses a new key");
      assert.notEqual(store.current()!.key, first.key);
      assert.ok(store.current()!.notAfter > first.notAfter);
      assert.match(store.current()!.certChain, /BEGIN CERTIFICATE/);
    } finally {
      renewer.stop();
    }
  });
});
