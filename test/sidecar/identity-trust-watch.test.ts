// The trust bundle and "renew now" pushed over WatchTrust, with a real identity
// service (gRPC over TLS, the CA watcher on Kubernetes-style files) and the
// proxy's real identity (client, renewer, store, trust watcher).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../../lib/log.ts";
import { createIssuer, createTrustAnchor } from "../../lib/pki.ts";
import { parseRenewBefore } from "../../control-plane/src/ca-files.ts";
import { startProxyIdentity, type ProxyIdentity, type ProxyIdentityOptions } from "../../sidecar/src/identity/bootstrap.ts";
import { staticToken } from "../../sidecar/src/identity/token.ts";
import { startIdentityHarness, type IdentityHarness } from "../control-plane/identity-harness.ts";
import { startTcpRelay } from "../support/tcp-relay.ts";
import { waitFor } from "../support/wait.ts";

const count = (pem: string): number => pem.match(/BEGIN CERTIFICATE/g)?.length ?? 0;

describe("sidecar identity: the trust bundle and renew-now pushed by the control plane", function () {
  this.timeout(30_000);
  let h: IdentityHarness;
  const proxies: ProxyIdentity[] = [];

  beforeEach(async () => {
    h = await startIdentityHarness();
  });
  afterEach(async () => {
    for (const p of proxies.splice(0)) p.stop();
    await h.stop();
  });

  async function proxy(sa: string, options: Partial<ProxyIdentityOptions> = {}): Promise<ProxyIdentity> {
    const spiffeId = `spiffe://${h.mesh.trustDomain}/ns/shop/sa/${sa}`;
    const p = await startProxyIdentity({
      address: h.address,
      ...options,
      trustAnchorsPem: h.mesh.anchorPem,
      serverIdentity: h.controlPlaneSpiffeId,
      token: staticToken(h.mint({ namespace: "shop", serviceAccount: sa })),
      spiffeId,
      logger: silentLogger(),
      renewJitterMs: 500,
    });
    proxies.push(p);
    return p;
  }

  it("trusts an anchor added to the bundle within seconds, with no renewal and no restart", async () => {
    const p = await proxy("cart");
    await waitFor("the trust stream to open", async () => (await h.metricValue("weft_identity_trust_streams")) === 1);
    const anchorB = await createTrustAnchor({ trustDomain: h.mesh.trustDomain, lifetimeMs: 86_400_000, commonName: "root B" });
    h.writeIssuer({ ca: h.mesh.anchorPem + anchorB.certPem, cert: h.mesh.issuerCertPem, key: h.mesh.issuerKeyPem });
    await waitFor("the proxy to hold A and B", () => count(p.store.current()?.trustAnchors ?? "") === 2);
    assert.ok(p.store.current()?.trustAnchors.includes(anchorB.certPem.split("\n")[1] ?? "x"), "B is in the bundle");
    assert.equal(p.renewer.renewals, 1, "the first certificate only: the bundle came without a renewal");
    assert.equal(p.trust.updates.applied, 1);
  });

  it("hears the next bundle after its control plane's connection goes silent without closing (a replica lost), by pinging and reconnecting", async () => {
    const [host = "", port = ""] = h.address.split(":");
    const relay = await startTcpRelay({ host, port: Number(port) });
    try {
      const p = await proxy("cart", { address: relay.address, keepalive: { timeMs: 500, timeoutMs: 500 } });
      await waitFor("the trust stream to open", async () => (await h.metricValue("weft_identity_trust_streams")) === 1);
      relay.silenceOpen();
      const anchorB = await createTrustAnchor({ trustDomain: h.mesh.trustDomain, lifetimeMs: 86_400_000, commonName: "root B" });
      h.writeIssuer({ ca: h.mesh.anchorPem + anchorB.certPem, cert: h.mesh.issuerCertPem, key: h.mesh.issuerKeyPem });
      await waitFor("the proxy, on a new connection, to hold A and B", () => count(p.store.current()?.trustAnchors ?? "") === 2, { timeoutMs: 15_000 });
      assert.ok(relay.open() >= 1, "the bundle came over a new connection");
      assert.equal(p.trust.updates.applied, 1);
    } finally {
      for (const p of proxies.splice(0)) p.stop();
      await relay.close();
    }
  });

  it("keeps its bundle when its control-plane replica starts to drain, and within seconds holds the next one from another replica (not after a keepalive timeout)", async () => {
    // A Service in front of two replicas: the proxy's connection goes to A; once A is leaving, new connections go to B.
    const [host = "", port = ""] = h.address.split(":");
    const relay = await startTcpRelay({ host, port: Number(port) });
    const b = await startIdentityHarness({ replicaOf: h });
    try {
      // The default keepalive (30 s ping, 10 s to answer): only the drain can move the stream in time.
      const p = await proxy("cart", { address: relay.address });
      await waitFor("the trust stream to open on A", async () => (await h.metricValue("weft_identity_trust_streams")) === 1);
      const held = p.store.current()?.trustAnchors;
      assert.equal(count(held ?? ""), 1);
      const bundles: string[] = [];
      p.store.on("change", (c) => bundles.push(c.trustAnchors));

      relay.retarget({ host, port: b.server.port });
      const drainStarted = performance.now();
      // A long grace: nothing here may wait it out.
      const draining = h.server.stop(60_000);
      const anchorB = await createTrustAnchor({ trustDomain: h.mesh.trustDomain, lifetimeMs: 86_400_000, commonName: "root B" });
      b.writeIssuer({ ca: h.mesh.anchorPem + anchorB.certPem, cert: h.mesh.issuerCertPem, key: h.mesh.issuerKeyPem });
      await waitFor("the proxy to hold B's bundle (A and B)", () => count(p.store.current()?.trustAnchors ?? "") === 2, { timeoutMs: 5_000 });
      const tookMs = performance.now() - drainStarted;
      assert.ok(tookMs < 5_000, `B's bundle reached the proxy ${Math.round(tookMs)} ms after A began to drain`);
      assert.equal(await h.metricValue("weft_identity_trust_streams"), 0, "the stream is no longer on A");
      // The new bundle makes the proxy reopen its stream with it, on B again.
      await waitFor("the trust stream to be open on B", async () => (await b.metricValue("weft_identity_trust_streams")) === 1);
      // Its only change of bundle was to B's: it held A's until then, never none.
      assert.deepEqual(bundles, [h.mesh.anchorPem + anchorB.certPem]);
      assert.equal(p.trust.updates.applied, 1);
      assert.equal(p.renewer.renewals, 1, "no renewal was needed to move");
      for (const q of proxies.splice(0)) q.stop();
      await draining;
    } finally {
      for (const q of proxies.splice(0)) q.stop();
      await b.stop();
      await relay.close();
    }
  });

  it("refuses a bundle that would not verify its own leaf, counts it, and keeps the one it has", async () => {
    const p = await proxy("cart");
    const held = p.store.current()?.trustAnchors;
    const anchorB = await createTrustAnchor({ trustDomain: h.mesh.trustDomain, lifetimeMs: 86_400_000, commonName: "root B" });
    const issuerB = await createIssuer(anchorB, { trustDomain: h.mesh.trustDomain, lifetimeMs: 3_600_000 });
    // The operator dropped A before the proxies' leaves came from B's issuer.
    h.writeIssuer({ ca: anchorB.certPem, cert: issuerB.certPem, key: issuerB.keyPem });
    await waitFor("the refusal to be counted", () => p.trust.updates.rejected >= 1);
    assert.equal(p.store.current()?.trustAnchors, held, "the bundle it had stays");
    assert.equal(p.trust.updates.applied, 0);
  });

  it("renews at once (within the jitter) when told to renew leaves received before an instant, and only those", async () => {
    const early = await proxy("cart");
    await waitFor("the trust stream to open", async () => (await h.metricValue("weft_identity_trust_streams")) === 1);
    const instant = new Date();
    writeFileSync(join(h.dir, "renew-before"), `${instant.toISOString()}\n`);
    await waitFor("the early proxy to renew", () => early.renewer.renewals === 2, { timeoutMs: 10_000 });
    assert.ok((early.renewer.receivedAt?.getTime() ?? 0) >= instant.getTime());
    const late = await proxy("checkout");
    await waitFor("the late proxy to hear the instruction", () => late.trust.updates.unchanged >= 1);
    assert.equal(late.renewer.renewals, 1, "a leaf received after the instant is kept");
    assert.equal(early.renewer.renewals, 2, "the instruction is acted on once");
  });
});

describe("control plane: the renew-now file", () => {
  it("reads an RFC 3339 instant, empty as none, and refuses anything else", () => {
    const at = parseRenewBefore("2030-01-02T03:04:05.000Z\n");
    assert.ok(at.ok);
    assert.equal(at.value?.toISOString(), "2030-01-02T03:04:05.000Z");
    const none = parseRenewBefore("  \n");
    assert.ok(none.ok && none.value === undefined);
    for (const bad of ["tomorrow", "1767225600", "2030-13-45T00:00:00Z"]) {
      const r = parseRenewBefore(bad);
      assert.equal(r.ok ? "" : r.code, "renew-malformed", bad);
    }
  });
});
