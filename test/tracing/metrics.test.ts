// Span export counts reach the metrics endpoint: a scrape shows what was
// exported, what waits and what was dropped.
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { InMemorySpanExporter, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { createTracing, parseTracingConfig } from "../../lib/tracing.ts";
import { registerTracingMetrics } from "../../lib/tracing-metrics.ts";

async function setup(exporter: SpanExporter) {
  const parsed = parseTracingConfig({ serviceName: "web", samplingRatio: 1, endpoint: "127.0.0.1:1", maxQueueSize: 5, scheduledDelayMillis: 60_000 });
  if (!parsed.ok) throw new Error(parsed.message);
  const tracing = await createTracing(parsed.value, { exporter });
  const registry = new Registry();
  registerTracingMetrics(registry, tracing, "weft_proxy_");
  return { tracing, registry };
}

describe("tracing metrics", () => {
  it("a hung backend: one batch on the wire, a full queue, the rest dropped and counted", async () => {
    const hung: SpanExporter = { export: () => undefined, shutdown: () => Promise.resolve() };
    const { tracing, registry } = await setup(hung);
    for (let i = 0; i < 13; i++) tracing.tracer.startSpan("x").end();
    const text = await registry.metrics();
    assert.match(text, /weft_proxy_trace_spans_total\{outcome="dropped_queue_full"\} 3\n/);
    assert.match(text, /weft_proxy_trace_spans_total\{outcome="exported"\} 0\n/);
    assert.match(text, /weft_proxy_trace_spans_queued 10\n/);
    assert.equal(tracing.droppedSpans(), 3);
  });

  it("a healthy backend: exported spans are counted", async () => {
    const { tracing, registry } = await setup(new InMemorySpanExporter());
    for (let i = 0; i < 4; i++) tracing.tracer.startSpan("x").end();
    await tracing.forceFlush();
    const text = await registry.metrics();
    assert.match(text, /weft_proxy_trace_spans_total\{outcome="exported"\} 4\n/);
    assert.match(text, /weft_proxy_trace_spans_queued 0\n/);
    await tracing.shutdown();
  });
});
