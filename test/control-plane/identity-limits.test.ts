import assert from "node:assert/strict";
import { connect, type ClientHttp2Session } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { Registry } from "prom-client";
import { silentLogger } from "../../lib/log.ts";
import { createCsr, generateKeyPair, pemBlocks } from "../../lib/pki.ts";
import { createIdentityMetrics } from "../../control-plane/src/identity-metrics.ts";
import { startIdentityServer } from "../../control-plane/src/identity-server.ts";
import type { CaBundle } from "../../control-plane/src/ca-files.ts";
import type { IdentityVerifier } from "../../control-plane/src/identity-verifier.ts";
import { IdentityClient } from "../../sidecar/src/identity/client.ts";
import { waitFor } from "../support/wait.ts";
import { CONTROL_PLANE_SPIFFE_ID, grpcFrame, memoryMiB, openSession, rawCall, startLocalControlPlane, type LocalControlPlane } from "./flood-helpers.ts";

const CERTIFY = "/weft.identity.v1.Identity/Certify";
const MiB = 1024 * 1024;

describe("identity port: a flood of connections and large requests does not take the CA down", function () {
  this.timeout(60_000);
  let cp: LocalControlPlane;
  let client: IdentityClient;
  const sessions: ClientHttp2Session[] = [];

  before(async () => {
    // Per peer 64: the first flood comes from four addresses and must all get in, so that it is the
    // receive limit, not the connection cap, that bounds it.
    cp = await startLocalControlPlane(["--identity-max-connections-per-peer", "64"]);
    client = new IdentityClient({ address: `127.0.0.1:${cp.ports.identityPort}`, trustAnchorsPem: cp.anchorsPem, serverIdentity: CONTROL_PLANE_SPIFFE_ID });
  });
  after(async () => {
    client?.close();
    for (const s of sessions) s.destroy();
    await cp?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") console.error(cp.processes.report());
  });

  const certifyWellBehaved = async () => {
    const csrDer = pemBlocks(await createCsr(await generateKeyPair()))[0]!.der;
    return client.certify({ token: cp.token("client"), csrDer });
  };

  it("refuses 200 connections' 1 MiB Certify requests at the length prefix, grows by under 150 MiB, and still issues", async () => {
    const before = memoryMiB(cp.pid);
    const addresses = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"];
    const opened = await Promise.all(Array.from({ length: 200 }, (_, i) => openSession(cp.ports.identityPort, { localAddress: addresses[i % addresses.length]! })));
    sessions.push(...opened);
    const frame = grpcFrame(Buffer.alloc(MiB, 0x41));
    const flood = Promise.all(opened.map((s) => rawCall(s, CERTIFY, frame)));
    const served = await certifyWellBehaved();
    const outcomes = await flood;
    const after = memoryMiB(cp.pid);
    assert.ok(served.ok, served.ok ? "" : served.message);
    assert.ok(outcomes.every((o) => o.status === grpc.status.RESOURCE_EXHAUSTED), `statuses: ${[...new Set(outcomes.map((o) => o.status))].join(",")}`);
    console.log(`      identity flood: RSS ${before.rss.toFixed(0)} MiB before, peak ${after.peak.toFixed(0)} MiB (was ${before.peak.toFixed(0)}), ${after.rss.toFixed(0)} MiB after`);
    // Measured: about 95 MiB of TLS and HTTP/2 state for 200 connections; with grpc-js buffering each
    // 1 MiB message whole (its receive limit at 1 MiB), over 300 MiB.
    assert.ok(after.peak < Math.max(before.peak, before.rss + 150), `peak RSS ${after.peak.toFixed(0)} MiB; started at ${before.rss.toFixed(0)} MiB`);
  });

  it("closes connections from one peer beyond its cap and counts them, while other peers are served", async () => {
    const refused = () => cp.metric(/^weft_identity_certificates_refused_total\{reason="peer-connection-limit"\} (\d+)$/m);
    const already = await refused();
    // 100 attempts from one address against a cap of 64: the excess is closed on accept.
    const attempts = await Promise.allSettled(Array.from({ length: 100 }, () => openSession(cp.ports.identityPort, { localAddress: "127.0.0.9" })));
    for (const a of attempts) if (a.status === "fulfilled") sessions.push(a.value);
    await waitFor("36 connections counted as over the per-peer cap", async () => (await refused()) - already >= 36);
    const served = await certifyWellBehaved();
    assert.ok(served.ok, served.ok ? "" : served.message);
  });
});

describe("identity service: Certify calls in progress are bounded", function () {
  it("answers RESOURCE_EXHAUSTED at once beyond the bound instead of queueing, and counts it", async () => {
    // A verifier that never answers keeps the first calls in progress.
    const verifier: IdentityVerifier = { kind: "stuck", verify: () => new Promise(() => {}) };
    const registry = new Registry();
    const metrics = createIdentityMetrics(registry);
    const server = await startIdentityServer({
      credentials: grpc.ServerCredentials.createInsecure(),
      // Never read: the verifier, which runs first, does not answer.
      ca: () => ({}) as CaBundle,
      verifier,
      leafLifetimeMs: 3_600_000,
      metrics,
      logger: silentLogger(),
      limits: { maxInFlight: 2 },
    });
    const session = connect(`http://127.0.0.1:${server.port}`);
    try {
      const request = Buffer.from([0x12, 0x01, 0x74, 0x1a, 0x01, 0x78]); // CertifyRequest{token: "t", certificate_signing_request: "x"}
      for (let i = 0; i < 2; i++) void rawCall(session, CERTIFY, grpcFrame(request));
      const refusedCount = async () => (await registry.getSingleMetric("weft_identity_certificates_refused_total")?.get())?.values.find((v) => v.labels.reason === "overloaded")?.value ?? 0;
      // The two calls reach the verifier before the third is sent: the third is certain to be over the bound.
      await new Promise((resolve) => setImmediate(resolve));
      const third = await waitFor("a call beyond the bound to be refused", async () => {
        const outcome = await rawCall(session, CERTIFY, grpcFrame(request));
        return outcome.status === grpc.status.RESOURCE_EXHAUSTED ? outcome : null;
      });
      assert.equal(third.status, grpc.status.RESOURCE_EXHAUSTED);
      assert.ok((await refusedCount()) >= 1);
    } finally {
      session.destroy();
      server.server.forceShutdown();
      await server.stop(100);
    }
  });
});
