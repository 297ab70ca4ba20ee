// The tracing configuration is validated once where it enters; bad input is a
// reason, never an exception, and no endpoint means tracing is off.
import assert from "node:assert/strict";
import { createTracing, parseTracingConfig, rawTracingConfigFromEnv, TRACING_DEFAULTS } from "../../lib/tracing.ts";

describe("tracing configuration", () => {
  it("no endpoint: tracing disabled, a no-op tracer that records nothing", async () => {
    const parsed = parseTracingConfig({ serviceName: "web" });
    assert.ok(parsed.ok);
    assert.equal(parsed.value.export, undefined);
    const tracing = await createTracing(parsed.value);
    assert.equal(tracing.enabled, false);
    const span = tracing.tracer.startSpan("x");
    assert.equal(span.isRecording(), false);
    span.end();
    assert.equal(tracing.droppedSpans(), 0);
    await tracing.shutdown();
  });

  it("defaults: gRPC, 1% sampling, W3C + B3 multi-header written, bounded queue", () => {
    const parsed = parseTracingConfig({ endpoint: "collector.weft:4317", serviceName: "web", namespace: "shop", podName: "web-1" });
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value.export, {
      endpoint: "http://collector.weft:4317",
      protocol: "grpc",
      maxQueueSize: TRACING_DEFAULTS.maxQueueSize,
      maxExportBatchSize: TRACING_DEFAULTS.maxExportBatchSize,
      scheduledDelayMillis: TRACING_DEFAULTS.scheduledDelayMillis,
      exportTimeoutMillis: TRACING_DEFAULTS.exportTimeoutMillis,
    });
    assert.equal(parsed.value.samplingRatio, 0.01);
    assert.deepEqual(parsed.value.propagation, ["tracecontext", "b3multi"]);
    assert.deepEqual(parsed.value.resource, { serviceName: "web", namespace: "shop", podName: "web-1" });
  });

  it("OTLP/HTTP gets the /v1/traces path unless one is given", () => {
    const a = parseTracingConfig({ endpoint: "http://c:4318", protocol: "http" });
    assert.ok(a.ok);
    assert.equal(a.value.export?.endpoint, "http://c:4318/v1/traces");
    const b = parseTracingConfig({ endpoint: "https://c/otlp/v1/traces", protocol: "http" });
    assert.ok(b.ok);
    assert.equal(b.value.export?.endpoint, "https://c/otlp/v1/traces");
  });

  it("reads the environment given to it (strings for numbers and lists)", () => {
    const raw = rawTracingConfigFromEnv({
      WEFT_TRACING_ENDPOINT: "http://c:4318",
      WEFT_TRACING_PROTOCOL: "http",
      WEFT_TRACING_SAMPLING_RATIO: "0.5",
      WEFT_TRACING_PROPAGATION: "b3, tracecontext",
      WEFT_TRACING_MAX_QUEUE_SIZE: "100",
    });
    const parsed = parseTracingConfig({ ...raw, serviceName: "web" });
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.equal(parsed.value.samplingRatio, 0.5);
    assert.deepEqual(parsed.value.propagation, ["b3", "tracecontext"]);
    assert.equal(parsed.value.export?.maxQueueSize, 100);
    assert.equal(parsed.value.export?.maxExportBatchSize, 100, "a batch never exceeds the queue");
  });

  const bad: [string, unknown][] = [
    ["not an object", "endpoint=x"],
    ["ratio above 1", { endpoint: "c:4317", samplingRatio: 2 }],
    ["ratio not a number", { endpoint: "c:4317", samplingRatio: "lots" }],
    ["unknown protocol", { endpoint: "c:4317", protocol: "thrift" }],
    ["unknown propagation format", { propagation: "jaeger" }],
    ["non-http scheme", { endpoint: "ftp://c:4317" }],
    ["queue of zero", { endpoint: "c:4317", maxQueueSize: 0 }],
    ["batch larger than the queue", { endpoint: "c:4317", maxQueueSize: 10, maxExportBatchSize: 20 }],
    ["resource attribute not a string", { resourceAttributes: { a: 1 } }],
  ];
  for (const [name, raw] of bad) {
    it(`rejects ${name} with a reason`, () => {
      const parsed = parseTracingConfig(raw);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) {
        assert.equal(parsed.code, "tracing.invalid");
        assert.ok(parsed.message.length > 0);
      }
    });
  }
});
