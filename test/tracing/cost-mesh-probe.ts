// CPU cost of tracing on real proxies, in one process: a client, pod A's proxy
// (outbound), pod B's proxy (inbound, mTLS between them) and an app, driven
// with keep-alive requests; process CPU per request with tracing off, at 1% and
// at 100% (OTLP/gRPC to a real Jaeger). Modes are interleaved over several
// rounds and the median taken, since a shared machine is noisy.
// Usage: node test/tracing/cost-mesh-probe.ts [requests-per-round] [rounds]
import { Agent, createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { silentLogger } from "../../lib/log.ts";
import { createTracing, parseTracingConfig, type Tracing } from "../../lib/tracing.ts";
import { MeshView } from "../../sidecar/src/discovery/mesh-view.ts";
import { startProxy, type RunningProxy } from "../../sidecar/src/proxy.ts";
import { tracingObserver } from "../../sidecar/src/tracing/observer.ts";
import { holder, meshState, testPki } from "../sidecar/mesh-harness.ts";
import { startJaeger } from "./jaeger.ts";

const perRound = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 3);
const concurrency = 8;

const jaeger = await startJaeger();
const pki = await testPki();
const app: Server = createServer((_req, res) => res.end("ok\n"));
await new Promise<void>((r) => app.listen(0, "127.0.0.1", () => r()));
const appPort = (app.address() as AddressInfo).port;

interface Pair { a: RunningProxy; b: RunningProxy; port: number; tracings: Tracing[] }

async function startPair(mode: string, ratio: number | undefined): Promise<Pair> {
  const tracings: Tracing[] = [];
  const tracingFor = async (pod: string) => {
    const parsed = parseTracingConfig({ endpoint: ratio === undefined ? undefined : jaeger.otlpGrpcEndpoint, samplingRatio: ratio ?? 0, serviceName: `cost-${mode}-${pod}`, namespace: "bench", podName: `${pod}-0` });
    if (!parsed.ok) throw new Error(parsed.message);
    const t = await createTracing(parsed.value, { rootSampling: "caller" });
    tracings.push(t);
    return tracingObserver(t);
  };
  const viewB = new MeshView();
  viewB.update(meshState({}));
  const b = await startProxy({ view: viewB, credentials: holder(pki.server), logger: silentLogger(), listenHost: "127.0.0.1", inboundApps: [{ listenPort: 0, appPort }], observer: await tracingFor("b") });
  const viewA = new MeshView(new Map([[`10.0.9.1:${appPort}`, { host: "127.0.0.1", port: b.ports.get("inbound:0") ?? 0 }]]));
  viewA.update(meshState({
    services: [{
      namespace: "bench", name: "app", clusterIps: ["10.96.9.1"], ports: [{ name: "http", port: 80, protocol: "TCP", appProtocol: "http" }],
      endpoints: [{ address: "10.0.9.1", ports: { http: appPort }, zone: "", ready: true, serving: true, terminating: false, meshed: true, identity: pki.server.spiffeId }],
    }],
  }));
  const a = await startProxy({ view: viewA, credentials: holder(pki.client), logger: silentLogger(), listenHost: "127.0.0.1", outboundBinds: [{ listenPort: 0, address: "10.96.9.1", port: 80 }], observer: await tracingFor("a") });
  return { a, b, port: a.ports.get("outbound:0") ?? 0, tracings };
}

async function drive(port: number, n: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path: "/items/1", agent }, (res) => {
          res.resume();
          res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        });
        req.on("error", reject);
        req.end();
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
}

const modes: [string, number | undefined][] = [["off", undefined], ["1%", 0.01], ["100%", 1]];
const samples: Record<string, number[]> = { off: [], "1%": [], "100%": [] };
const pairs = new Map<string, Pair>();
for (const [mode, ratio] of modes) {
  const pair = await startPair(mode, ratio);
  pairs.set(mode, pair);
  await drive(pair.port, 500); // warm-up: connections, JIT, the exporter's first export
}
for (let r = 0; r < rounds; r++) {
  for (const [mode] of modes) {
    const pair = pairs.get(mode) as Pair;
    const c0 = process.cpuUsage();
    await drive(pair.port, perRound);
    await Promise.all(pair.tracings.map((t) => t.forceFlush()));
    const c = process.cpuUsage(c0);
    samples[mode]?.push((c.user + c.system) / perRound);
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
const offSamples = samples["off"] ?? [];
const rows = modes.map(([mode]) => {
  const xs = samples[mode] ?? [];
  const m = median(xs);
  const pair = pairs.get(mode) as Pair;
  // Paired within a round (same machine load), then the median over rounds.
  const added = median(xs.map((x, i) => (x - (offSamples[i] ?? x)) / (offSamples[i] ?? x)));
  return {
    mode,
    // CPU-us per request = CPU-ms per 1,000 requests.
    cpuUsPerRequest: Number(m.toFixed(1)),
    addedVsOff: `${(added * 100).toFixed(1)}%`,
    samples: (samples[mode] ?? []).map((x) => Number(x.toFixed(1))),
    exported: pair.tracings.reduce((s, t) => s + t.stats().exported, 0),
    dropped: pair.tracings.reduce((s, t) => s + t.droppedSpans(), 0),
  };
});
console.log(JSON.stringify({ perRound, rounds, concurrency, note: "process CPU = client + 2 proxies + app", rows }, null, 2));
for (const pair of pairs.values()) {
  await Promise.all([pair.a.drain(1000), pair.b.drain(1000)]);
  await Promise.all(pair.tracings.map((t) => t.shutdown()));
}
app.close();
await jaeger.stop();
process.exit(0);
