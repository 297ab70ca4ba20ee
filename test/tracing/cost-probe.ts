// Measures the CPU the tracing path adds per proxied request, outside the
// proxy: the observer hooks (extract, server span, attempt span, inject, end)
// exported over OTLP/gRPC to a real Jaeger, at tracing off, 1% and 100%.
// Usage: node test/tracing/cost-probe.ts [requests]
import { silentLogger } from "../../lib/log.ts";
import { createTracing, parseTracingConfig } from "../../lib/tracing.ts";
import { tracingObserver } from "../../sidecar/src/tracing/observer.ts";
import { startJaeger } from "./jaeger.ts";

const n = Number(process.argv[2] ?? 20000);
const jaeger = await startJaeger();
try {
  const results: { mode: string; cpuUsPerRequest: number; exported: number; dropped: number }[] = [];
  for (const [mode, raw] of [
    ["off", {}],
    ["1%", { endpoint: jaeger.otlpGrpcEndpoint, samplingRatio: 0.01 }],
    ["100%", { endpoint: jaeger.otlpGrpcEndpoint, samplingRatio: 1 }],
  ] as const) {
    const parsed = parseTracingConfig({ ...raw, serviceName: `cost-${mode}`, namespace: "bench", podName: "p-0" });
    if (!parsed.ok) throw new Error(parsed.message);
    const tracing = await createTracing(parsed.value, { logger: silentLogger(), rootSampling: "caller" });
    const observer = tracingObserver(tracing);
    const run = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const scope = observer.onRequest({
          direction: "outbound", method: "GET", path: "/items/42?x=1", authority: "shop.default.svc:8080", protocol: "h1", grpc: false,
          service: "default/shop", peerIdentity: "", headers: { accept: "*/*", "user-agent": "bench" },
        });
        const headers = { ":method": "GET", ":path": "/items/42?x=1", accept: "*/*" };
        const attempt = scope?.onAttempt?.({ attempt: 1, endpoint: "10.0.0.7:8080", headers });
        attempt?.onEnd?.({ status: 200 });
        scope?.onEnd?.({ status: 200 });
        if (i % 200 === 0) await new Promise((r) => setImmediate(r));
      }
    };
    await run(2000); // warm-up
    await tracing.forceFlush();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await run(n);
    await tracing.forceFlush();
    const cpu = process.cpuUsage(c0);
    const wall = performance.now() - t0;
    const us = (cpu.user + cpu.system) / n;
    // CPU-us per request equals CPU-ms per 1,000 requests.
    results.push({ mode, cpuUsPerRequest: Number(us.toFixed(2)), exported: tracing.stats().exported, dropped: tracing.droppedSpans() });
    console.error(`${mode}: ${us.toFixed(2)} CPU-us/request (${wall.toFixed(0)} ms wall for ${n})`);
    await tracing.shutdown();
  }
  console.log(JSON.stringify(results, null, 2));
} finally {
  await jaeger.stop();
}
