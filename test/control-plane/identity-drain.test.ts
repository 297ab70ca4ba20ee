// The identity service when its replica drains: WatchTrust streams end at once,
// so proxies reopen them on another replica, while Certify calls in flight get
// the grace to finish. Real gRPC on loopback; the grace runs on a fake clock
// that is never moved, so nothing here can be the grace running out.
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Registry } from "prom-client";
import { silentLogger } from "../../lib/log.ts";
import { createCsr, generateKeyPair, pemBlocks } from "../../lib/pki.ts";
import { caBundleFromPem } from "../../control-plane/src/ca-files.ts";
import { createIdentityMetrics } from "../../control-plane/src/identity-metrics.ts";
import { addIdentityService } from "../../control-plane/src/identity-server.ts";
import { LocalTokenVerifier } from "../../control-plane/src/identity-verifier-local-token.ts";
import { StaticIdentityVerifier, type IdentityVerifier } from "../../control-plane/src/identity-verifier.ts";
import { IdentityClient } from "../../sidecar/src/identity/client.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { waitFor } from "../support/wait.ts";
import { createTestMesh } from "../fixtures/mesh-pki.ts";
import { startIdentityHarness, type IdentityHarness } from "./identity-harness.ts";

const WATCH_TRUST = "/weft.identity.v1.Identity/WatchTrust";

describe("identity service: draining a replica", function () {
  this.timeout(30_000);

  it("ends an open WatchTrust stream with UNAVAILABLE as soon as it starts to drain, while a Certify call in flight still completes", async () => {
    // The verifier holds each Certify call until released, so one is in flight when the drain starts.
    let release = (): void => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let entered = 0;
    const verifier: IdentityVerifier = {
      kind: "held",
      verify: async (token) => {
        entered++;
        await released;
        return new LocalTokenVerifier(h.tokenKey, h.mesh.trustDomain).verify(token);
      },
    };
    const clock = new FakeClock();
    const h: IdentityHarness = await startIdentityHarness({ verifier, clock });
    const client = new IdentityClient({ address: h.address, trustAnchorsPem: h.mesh.anchorPem, serverIdentity: h.controlPlaneSpiffeId });
    try {
      let updates = 0;
      let endedWith: string | undefined;
      client.watchTrust({ update: () => updates++, end: (reason) => (endedWith = reason) });
      await waitFor("the stream's first bundle", () => updates === 1);
      const csrDer = pemBlocks(await createCsr(await generateKeyPair()))[0]!.der;
      const certified = client.certify({ token: h.mint({ namespace: "shop", serviceAccount: "cart" }), csrDer });
      await waitFor("the Certify call to reach the verifier", () => entered === 1);

      let stopDone = false;
      const stopped = h.server.stop(60_000).then(() => (stopDone = true));
      const reason = await waitFor("the trust stream to end", () => endedWith, { timeoutMs: 3_000 });
      assert.match(reason, /^UNAVAILABLE: draining/);
      assert.equal(await h.metricValue("weft_identity_trust_streams"), 0);
      assert.equal(clock.pending(), 1, "the grace is still running");
      // grpc-js's tryShutdown reports done before the stream's end reaches the client; the server still waits for Certify.
      assert.equal(stopDone, false, "stop() waits for the Certify call in flight");

      release();
      const result = await certified;
      assert.ok(result.ok, result.ok ? "" : result.message);
      // The clock never moved: the server closed because its last call finished, not because the grace ran out.
      await stopped;
      assert.equal(clock.pending(), 0);
      assert.equal(clock.now(), 0);
    } finally {
      client.close();
      h.server.server.forceShutdown();
      await h.stop();
    }
  });

  it("answers a WatchTrust call that arrives once the drain has begun with UNAVAILABLE at once, and still serves Certify", async () => {
    const mesh = await createTestMesh();
    const bundle = await caBundleFromPem(mesh.issuerCertPem, mesh.issuerKeyPem, mesh.anchorPem);
    assert.ok(bundle.ok);
    const registry = new Registry();
    const server = new grpc.Server();
    const service = addIdentityService(server, {
      ca: () => bundle.value,
      verifier: new StaticIdentityVerifier({}),
      leafLifetimeMs: 3_600_000,
      metrics: createIdentityMetrics(registry),
      logger: silentLogger(),
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    // Resolves with the stream's status once it ends, and counts its messages.
    const watch = () => {
      let messages = 0;
      const call = client.makeServerStreamRequest(WATCH_TRUST, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0));
      call.on("data", () => messages++);
      call.on("error", () => {});
      const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
      return { messages: () => messages, status };
    };
    try {
      const before = watch();
      await waitFor("the stream opened before the drain to carry the bundle", () => before.messages() === 1);
      service.drainStreams();
      assert.equal((await before.status).code, grpc.status.UNAVAILABLE);
      const during = watch();
      const status = await during.status;
      assert.equal(status.code, grpc.status.UNAVAILABLE);
      assert.match(status.details, /^draining/);
      assert.equal(during.messages(), 0);
      // Certify is not refused by the drain: a refusal from the verifier shows the call was served.
      const certify = await new Promise<grpc.ServiceError | null>((resolve) => {
        client.makeUnaryRequest("/weft.identity.v1.Identity/Certify", (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x12, 0x01, 0x74, 0x1a, 0x01, 0x78]), (err) => resolve(err));
      });
      assert.equal(certify?.code, grpc.status.UNAUTHENTICATED);
      const streams = (await registry.getSingleMetric("weft_identity_trust_streams")?.get())?.values[0]?.value;
      assert.equal(streams, 0);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
