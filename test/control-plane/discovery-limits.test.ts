import assert from "node:assert/strict";
import type { ClientHttp2Session } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { loadProto } from "../../api/load.ts";
import type { ProtoGrpcType } from "../../api/gen/discovery.ts";
import { waitFor } from "../support/wait.ts";
import { grpcFrame, memoryMiB, openSession, rawCall, startLocalControlPlane, type LocalControlPlane, type RawCallOutcome } from "./flood-helpers.ts";

const STREAM = "/weft.discovery.v1.Discovery/Stream";
const hello = grpcFrame(loadProto<ProtoGrpcType>("discovery.proto").weft.discovery.v1.Discovery.service.Stream.requestSerialize({ hello: { workload: "flood" } }));

describe("discovery port: one workload certificate cannot hold more than a few streams", function () {
  this.timeout(60_000);
  let cp: LocalControlPlane;
  const sessions: ClientHttp2Session[] = [];

  before(async () => {
    cp = await startLocalControlPlane([]);
  });
  after(async () => {
    for (const s of sessions) s.destroy();
    await cp?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") console.error(cp.processes.report());
  });

  it("refuses 2,000 streams beyond 4 per certificate with RESOURCE_EXHAUSTED, counts them, grows under 60 MiB, and serves another proxy", async () => {
    const flooder = await cp.workloadCertificate("flooder");
    const proxy = await cp.workloadCertificate("proxy");
    const refused = () => cp.metric(/^weft_discovery_refused_streams_total\{reason="certificate-stream-limit"\} (\d+)$/m);
    const before = memoryMiB(cp.pid);
    // 50 connections × 40 streams, one after another on each: a stream admitted (it gets a snapshot)
    // stays open and the next starts; one refused ends. HTTP/2 lets 4 be open at once per connection.
    const opened = await Promise.all(Array.from({ length: 50 }, () => openSession(cp.ports.discoveryPort, flooder)));
    sessions.push(...opened);
    const outcomes: Promise<RawCallOutcome>[] = [];
    const flood = Promise.all(opened.map(async (s) => {
      for (let i = 0; i < 40; i++) {
        await new Promise<void>((settled) => {
          const call = rawCall(s, STREAM, hello, { keepOpen: true, onData: settled });
          outcomes.push(call);
          void call.then(() => settled());
        });
      }
    }));

    const good = await openSession(cp.ports.discoveryPort, proxy);
    sessions.push(good);
    const snapshot = new Promise<void>((resolve) => void rawCall(good, STREAM, hello, { keepOpen: true, onData: resolve }));
    await snapshot;

    const refusedCount = await waitFor("1,996 streams refused over the per-certificate limit", async () => {
      const n = await refused();
      return n >= 1_996 ? n : 0;
    }, { timeoutMs: 15_000, intervalMs: 100 });
    const after = memoryMiB(cp.pid);
    console.log(`      discovery flood: RSS ${before.rss.toFixed(0)} MiB before, peak ${after.peak.toFixed(0)} MiB (was ${before.peak.toFixed(0)}), ${after.rss.toFixed(0)} MiB after`);
    assert.equal(refusedCount, 1_996);
    assert.equal(await cp.metric(/^weft_discovery_streams (\d+)$/m), 5);
    await flood;
    for (const s of opened) s.destroy();
    const statuses = await Promise.all(outcomes);
    assert.equal(statuses.filter((o) => o.status === grpc.status.RESOURCE_EXHAUSTED).length, 1_996);
    assert.ok(after.peak < Math.max(before.peak, before.rss + 60), `peak RSS ${after.peak.toFixed(0)} MiB; started at ${before.rss.toFixed(0)} MiB`);
  });
});
