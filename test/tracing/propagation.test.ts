// Header formats in and out, without a backend: what the proxy reads from a
// request and what it writes on the forwarded one.
import assert from "node:assert/strict";
import { trace, type Context } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { createTracing, parseTracingConfig, type PropagationFormat, type Tracing } from "../../lib/tracing.ts";
import { extractContext, injectContext, startClientSpan, startServerSpan, type HeaderBag } from "../../sidecar/src/tracing/http.ts";

const T = "4bf92f3577b34da6a3ce929d0e0e4736";
const S = "00f067aa0ba902b7";

function tracingWith(propagation: PropagationFormat[]): Promise<Tracing> {
  const parsed = parseTracingConfig({ serviceName: "p", samplingRatio: 1, propagation });
  if (!parsed.ok) throw new Error(parsed.message);
  return createTracing(parsed.value, { exporter: new InMemorySpanExporter() });
}

function parentOf(ctx: Context) {
  return trace.getSpanContext(ctx);
}

describe("tracing propagation formats", () => {
  let tracing: Tracing;
  before(async () => {
    tracing = await tracingWith(["tracecontext", "b3multi"]);
  });
  after(() => tracing.shutdown());

  const inputs: [string, HeaderBag][] = [
    ["W3C", { traceparent: `00-${T}-${S}-01` }],
    ["B3 multi", { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "1" }],
    ["B3 single", { b3: `${T}-${S}-1` }],
    ["B3 single with a 64-bit trace id", { b3: `${T.slice(16)}-${S}-1` }],
  ];
  for (const [name, headers] of inputs) {
    it(`reads ${name}`, () => {
      const sc = parentOf(extractContext(tracing.propagator, headers));
      assert.ok(sc);
      assert.equal(sc.traceId, name.includes("64-bit") ? "0".repeat(16) + T.slice(16) : T);
      assert.equal(sc.spanId, S);
      assert.equal(sc.isRemote, true);
      assert.equal(sc.traceFlags & 1, 1);
    });
  }

  it("prefers traceparent when a request carries both W3C and B3", () => {
    const other = "11111111111111111111111111111111";
    const sc = parentOf(extractContext(tracing.propagator, { traceparent: `00-${T}-${S}-01`, b3: `${other}-${S}-1` }));
    assert.equal(sc?.traceId, T);
  });

  it("garbage headers start a new trace instead of failing", () => {
    for (const headers of [{ traceparent: "zz" }, { b3: "-" }, { "x-b3-traceid": "nothex", "x-b3-spanid": "1" }, { traceparent: ["a", "b"] }]) {
      const ctx = extractContext(tracing.propagator, headers);
      assert.equal(parentOf(ctx), undefined);
      const server = startServerSpan(tracing.tracer, ctx, { method: "GET", path: "/" });
      assert.equal(server.span.spanContext().traceId.length, 32);
      server.span.end();
    }
  });

  it("writes the configured formats, replacing whatever trace headers came in", () => {
    const ctx = extractContext(tracing.propagator, { b3: `${T}-${S}-1` });
    const server = startServerSpan(tracing.tracer, ctx, { method: "GET", path: "/" });
    const client = startClientSpan(tracing.tracer, server.ctx, { method: "GET", path: "/", attempt: 1 });
    const out: HeaderBag = { b3: `${T}-${S}-1`, "x-b3-parentspanid": "abc", accept: "*/*" };
    injectContext(tracing.propagator, client.ctx, out);
    const id = client.span.spanContext().spanId;
    assert.equal(out["traceparent"], `00-${T}-${id}-01`);
    assert.equal(out["x-b3-traceid"], T);
    assert.equal(out["x-b3-spanid"], id);
    assert.equal(out["x-b3-sampled"], "1");
    assert.equal(out["b3"], undefined, "the stale single header is gone");
    assert.equal(out["x-b3-parentspanid"], undefined);
    assert.equal(out["accept"], "*/*");
    client.span.end();
    server.span.end();
  });

  it("B3 single-header output when configured", async () => {
    const single = await tracingWith(["b3"]);
    const server = startServerSpan(single.tracer, extractContext(single.propagator, {}), { method: "GET", path: "/" });
    const out: HeaderBag = { traceparent: `00-${T}-${S}-01` };
    injectContext(single.propagator, server.ctx, out);
    assert.match(String(out["b3"]), new RegExp(`^${server.span.spanContext().traceId}-${server.span.spanContext().spanId}-1$`));
    assert.equal(out["traceparent"], undefined);
    server.span.end();
    await single.shutdown();
  });
});
