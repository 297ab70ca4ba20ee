// The proxy's request-observer seam, traced: what the data plane reports
// (request, attempts, outcomes) becomes a server span and a client span per
// attempt, and each attempt's headers carry that attempt's context.
import assert from "node:assert/strict";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import type { OutgoingHttpHeaders } from "node:http";
import { createTracing, parseTracingConfig } from "../../lib/tracing.ts";
import { NO_OBSERVER } from "../../sidecar/src/request-observer.ts";
import { splitEndpoint, tracingObserver } from "../../sidecar/src/tracing-observer.ts";
import { proxyTracingFromEnv } from "../../sidecar/src/tracing-setup.ts";
import { silentLogger } from "../../lib/log.ts";

const T = "4bf92f3577b34da6a3ce929d0e0e4736";
const S = "00f067aa0ba902b7";

async function setup() {
  const exporter = new InMemorySpanExporter();
  const parsed = parseTracingConfig({ serviceName: "web", samplingRatio: 1 });
  if (!parsed.ok) throw new Error(parsed.message);
  const tracing = await createTracing(parsed.value, { exporter });
  return { exporter, tracing, observer: tracingObserver(tracing) };
}

describe("tracing observer (the proxy's seam)", () => {
  it("tracing disabled: the no-op observer, headers untouched", async () => {
    const parsed = parseTracingConfig({ serviceName: "web" });
    assert.ok(parsed.ok);
    assert.equal(tracingObserver(await createTracing(parsed.value)), NO_OBSERVER);
  });

  it("an outbound request with a retry: one server span, two attempt spans, each attempt's headers carry its own span", async () => {
    const { exporter, tracing, observer } = await setup();
    const scope = observer.onRequest({
      direction: "outbound",
      method: "GET",
      path: "/items?id=3",
      authority: "shop.default.svc:8080",
      protocol: "h1",
      grpc: false,
      service: "default/shop",
      peerIdentity: "",
      headers: { traceparent: `00-${T}-${S}-01`, tracestate: "k=v" },
    });
    assert.ok(scope);
    const h1: OutgoingHttpHeaders = { traceparent: `00-${T}-${S}-01`, tracestate: "k=v" };
    const a1 = scope.onAttempt?.({ attempt: 1, endpoint: "10.0.0.7:8080", headers: h1 });
    a1?.onEnd?.({ status: 503 });
    const h2: OutgoingHttpHeaders = {};
    const a2 = scope.onAttempt?.({ attempt: 2, endpoint: "[fd00::8]:8080", headers: h2 });
    a2?.onEnd?.({ status: 200 });
    scope.onEnd?.({ status: 200 });
    await tracing.forceFlush();

    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, 3);
    const server = spans.find((s) => s.kind === SpanKind.SERVER);
    const clients = spans.filter((s) => s.kind === SpanKind.CLIENT).sort((a, b) => Number(a.attributes["weft.attempt"]) - Number(b.attributes["weft.attempt"]));
    assert.ok(server);
    assert.equal(server.spanContext().traceId, T);
    assert.equal(server.parentSpanContext?.spanId, S);
    assert.equal(server.attributes["url.path"], "/items");
    assert.equal(server.attributes["weft.service"], "default/shop");
    assert.equal(server.attributes["http.response.status_code"], 200);
    const [c1, c2] = clients;
    assert.ok(c1 && c2);
    for (const c of [c1, c2]) assert.equal(c.parentSpanContext?.spanId, server.spanContext().spanId);
    assert.equal(c1.attributes["http.response.status_code"], 503);
    assert.equal(c1.attributes["network.peer.address"], "10.0.0.7");
    assert.equal(c2.attributes["network.peer.address"], "fd00::8");
    assert.equal(c2.attributes["network.peer.port"], 8080);
    assert.equal(c2.attributes["http.request.resend_count"], 1);
    assert.equal(h1["traceparent"], `00-${T}-${c1.spanContext().spanId}-01`);
    assert.equal(h2["traceparent"], `00-${T}-${c2.spanContext().spanId}-01`);
    assert.equal(h2["tracestate"], "k=v");
    assert.equal(h2["x-b3-spanid"], c2.spanContext().spanId);
    await tracing.shutdown();
  });

  it("an inbound request whose attempt end is not reported: the attempt closes with the request", async () => {
    const { exporter, tracing, observer } = await setup();
    const scope = observer.onRequest({
      direction: "inbound",
      method: "POST",
      path: "/pay",
      authority: "pay:80",
      protocol: "h2",
      grpc: true,
      service: "",
      peerIdentity: "spiffe://cluster.local/ns/shop/sa/web",
      headers: {},
    });
    scope?.onAttempt?.({ attempt: 1, endpoint: "127.0.0.1:9000", headers: {} });
    scope?.onEnd?.({ status: 200, grpcStatus: 14 });
    await tracing.forceFlush();
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, 2);
    const server = spans.find((s) => s.kind === SpanKind.SERVER);
    assert.equal(server?.attributes["weft.peer.identity"], "spiffe://cluster.local/ns/shop/sa/web");
    assert.equal(server?.attributes["network.protocol.version"], "2");
    assert.equal(server?.attributes["rpc.grpc.status_code"], 14);
    assert.equal(server?.parentSpanContext, undefined, "no context in: a new trace");
    await tracing.shutdown();
  });

  it("the proxy's environment: no endpoint disables tracing, a bad value refuses to start", async () => {
    const off = await proxyTracingFromEnv({ WEFT_POD_NAME: "web-1" }, silentLogger());
    assert.ok(off.ok);
    assert.equal(off.value.tracing.enabled, false);
    assert.equal(off.value.observer, NO_OBSERVER);
    const bad = await proxyTracingFromEnv({ WEFT_TRACING_ENDPOINT: "c:4317", WEFT_TRACING_SAMPLING_RATIO: "5" }, silentLogger());
    assert.equal(bad.ok, false);
    const on = await proxyTracingFromEnv({ WEFT_TRACING_ENDPOINT: "127.0.0.1:1", WEFT_SERVICE_ACCOUNT: "web" }, silentLogger());
    assert.ok(on.ok);
    assert.equal(on.value.tracing.enabled, true);
    await on.value.tracing.shutdown();
  });

  it("splits endpoints", () => {
    assert.deepEqual(splitEndpoint("10.1.2.3:80"), { address: "10.1.2.3", port: 80 });
    assert.deepEqual(splitEndpoint("[::1]:443"), { address: "::1", port: 443 });
    assert.deepEqual(splitEndpoint("host"), { address: "host" });
    assert.deepEqual(splitEndpoint(""), {});
  });
});
