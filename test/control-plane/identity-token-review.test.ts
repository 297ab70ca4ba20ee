import assert from "node:assert/strict";
import { CoreV1Api } from "@kubernetes/client-node";
import { tokenReviewClient, TokenReviewVerifier } from "../../control-plane/src/identity-verifier-token-review.ts";
import { createCsr, generateKeyPair, pemBlocks, spiffeIdOfCertificate, splitCertificates } from "../../lib/pki.ts";
import { IDENTITY_TOKEN_AUDIENCE } from "../../lib/proxy-contract.ts";
import { IdentityClient } from "../../sidecar/src/identity/client.ts";
import { kubernetesBinariesAvailable, useCluster } from "../cluster/cluster.ts";
import { startIdentityHarness, type IdentityHarness } from "./identity-harness.ts";

describe("identity service against a real kube-apiserver: ServiceAccount tokens through TokenReview", function () {
  this.timeout(180_000);
  before(function () {
    if (!kubernetesBinariesAvailable()) this.skip();
  });
  const cluster = useCluster();
  let h: IdentityHarness | undefined;
  let client: IdentityClient | undefined;
  after(async () => {
    client?.close();
    await h?.stop();
  });

  async function tokenFor(ns: string, sa: string, audience: string): Promise<string> {
    const core = cluster().kubeConfig.makeApiClient(CoreV1Api);
    const review = await core.createNamespacedServiceAccountToken({ name: sa, namespace: ns, body: { spec: { audiences: [audience], expirationSeconds: 600 } } });
    return review.status?.token ?? "";
  }

  it("issues a certificate for exactly the ServiceAccount whose token was presented, and refuses a token for another audience", async () => {
    const c = cluster();
    h = await startIdentityHarness({ verifier: new TokenReviewVerifier(tokenReviewClient(c.kubeConfig), "cluster.local") });
    client = new IdentityClient({ address: h.address, trustAnchorsPem: h.mesh.anchorPem, serverIdentity: h.controlPlaneSpiffeId });
    const ns = await c.createNamespace("identity");
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "cart" } } });
    const expected = `spiffe://cluster.local/ns/${ns}/sa/cart`;
    const csrDer = async (uris: string[] = []) => pemBlocks(await createCsr(await generateKeyPair(), { uris }))[0]!.der;

    const token = await tokenFor(ns, "cart", IDENTITY_TOKEN_AUDIENCE);
    const issued = await client.certify({ token, csrDer: await csrDer([expected]), identity: expected });
    assert.ok(issued.ok, issued.ok ? "" : issued.message);
    const id = spiffeIdOfCertificate(splitCertificates(issued.value.certChainPem)[0]!);
    assert.equal(id.ok && id.value.uri, expected);

    const claimsOther = await client.certify({ token, csrDer: await csrDer([`spiffe://cluster.local/ns/${ns}/sa/admin`]) });
    assert.equal(claimsOther.ok ? "OK" : claimsOther.code, "PERMISSION_DENIED");

    const otherAudience = await client.certify({ token: await tokenFor(ns, "cart", "https://kubernetes.default.svc"), csrDer: await csrDer() });
    assert.equal(otherAudience.ok ? "OK" : otherAudience.code, "UNAUTHENTICATED");
    assert.match(otherAudience.ok ? "" : otherAudience.message, /^token-wrong-audience: /);
    assert.equal(await h.metricValue("weft_identity_certificates_refused_total", { reason: "token-wrong-audience" }), 1);

    const garbage = await client.certify({ token: "not-a-jwt", csrDer: await csrDer() });
    assert.equal(garbage.ok ? "OK" : garbage.code, "UNAUTHENTICATED");
  });
});
