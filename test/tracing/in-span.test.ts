// The control plane's own work (certificate issuance, snapshot pushes) runs in
// spans: ended however the work finishes, errors recorded and rethrown.
import assert from "node:assert/strict";
import { ROOT_CONTEXT, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { createTracing, inSpan, parseTracingConfig, type Tracing } from "../../lib/tracing.ts";

describe("tracing the control plane's work", () => {
  const exporter = new InMemorySpanExporter();
  const parsed = parseTracingConfig({ serviceName: "weft-control-plane", namespace: "weft-system", podName: "cp-0", samplingRatio: 1 });
  if (!parsed.ok) throw new Error(parsed.message);
  let tracing: Tracing;
  before(async () => {
    tracing = await createTracing(parsed.value, { exporter, scope: "weft-control-plane" });
  });
  after(() => tracing.shutdown());

  it("a successful operation is one span with its attributes, and nested work is its child", async () => {
    exporter.reset();
    const result = await inSpan(tracing.tracer, "identity.certify", { "weft.identity": "spiffe://cluster.local/ns/a/sa/b" }, async (_span, ctx) => {
      await inSpan(tracing.tracer, "ca.sign", {}, () => undefined, ctx);
      return 42;
    });
    assert.equal(result, 42);
    await tracing.forceFlush();
    const spans = exporter.getFinishedSpans();
    const outer = spans.find((s) => s.name === "identity.certify");
    const inner = spans.find((s) => s.name === "ca.sign");
    assert.ok(outer && inner);
    assert.equal(inner.parentSpanContext?.spanId, outer.spanContext().spanId);
    assert.equal(outer.attributes["weft.identity"], "spiffe://cluster.local/ns/a/sa/b");
    assert.equal(outer.resource.attributes["service.name"], "weft-control-plane");
    assert.equal(outer.resource.attributes["k8s.pod.name"], "cp-0");
  });

  it("a failing operation records the error, ends the span and rethrows", async () => {
    exporter.reset();
    await assert.rejects(
      inSpan(tracing.tracer, "snapshot.push", {}, () => {
        throw new Error("stream closed");
      }),
      /stream closed/,
    );
    await tracing.forceFlush();
    const [span] = exporter.getFinishedSpans();
    assert.equal(span?.status.code, SpanStatusCode.ERROR);
    assert.equal(span?.events[0]?.name, "exception");
  });

  it("a span can continue a remote parent", async () => {
    exporter.reset();
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 1, isRemote: true });
    await inSpan(tracing.tracer, "discovery.stream", {}, () => undefined, parent);
    await tracing.forceFlush();
    assert.equal(exporter.getFinishedSpans()[0]?.spanContext().traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  });
});
