// The proxy's request-observer seam, traced: what the data plane reports
// (request, attempts, outcomes) becomes a server span and a client span per
// attempt, and each attempt's headers carry that attempt's context.
import assert from "node:assert/strict";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import type { OutgoingHttpHeaders } from "node:http";
import { createTracing, parseTracingConfig } from "../../lib/tracing.ts";
import { NO_OBSERVER, type ObservedRequest, type RequestObserver } from "../../sidecar/src/http/request-observer.ts";
import { splitEndpoint, tracingObserver } from "../../sidecar/src/tracing/observer.ts";
import { proxyTracingFromEnv } from "../../sidecar/src/tracing/setup.ts";
import { silentLogger } from "../../lib/log.ts";

const T = "4bf92f3577b34da6a3ce929d0e0e4736";
const S = "00f067aa0ba902b7";

async function setup(samplingRatio = 1, random?: () => number) {
  const exporter = new InMemorySpanExporter();
  const parsed = parseTracingConfig({ serviceName: "web", samplingRatio });
  if (!parsed.ok) throw new Error(parsed.message);
  const tracing = await createTracing(parsed.value, { exporter, rootSampling: "caller" });
  return { exporter, tracing, observer: tracingObserver(tracing, random) };
}

function outbound(headers: Record<string, string>): ObservedRequest {
  return { direction: "outbound", method: "GET", path: "/", authority: "shop:80", protocol: "h1", grpc: false, service: "default/shop", peerIdentity: "", headers };
}

/** One request with one attempt; the headers that attempt sent. */
function oneAttempt(observer: RequestObserver, headers: Record<string, string>): OutgoingHttpHeaders {
  const scope = observer.onRequest(outbound(headers));
  const sent: OutgoingHttpHeaders = { ...headers };
  scope?.onAttempt?.({ attempt: 1, endpoint: "10.0.0.7:8080", headers: sent })?.onEnd?.({ status: 200 });
  scope?.onEnd?.({ status: 200 });
  return sent;
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

  it("an unsampled new trace records nothing but sends a fresh context flagged unsampled on each attempt", async () => {
    const { exporter, tracing, observer } = await setup(0.01, () => 0.5);
    const scope = observer.onRequest(outbound({}));
    const h1: OutgoingHttpHeaders = {};
    const h2: OutgoingHttpHeaders = {};
    scope?.onAttempt?.({ attempt: 1, endpoint: "10.0.0.7:8080", headers: h1 });
    scope?.onAttempt?.({ attempt: 2, endpoint: "10.0.0.8:8080", headers: h2 });
    scope?.onEnd?.({ status: 200 });
    await tracing.forceFlush();
    assert.equal(exporter.getFinishedSpans().length, 0);
    const m1 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/.exec(String(h1["traceparent"]));
    const m2 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/.exec(String(h2["traceparent"]));
    assert.ok(m1 && m2);
    assert.equal(m1[1], m2[1], "both attempts belong to one trace");
    assert.notEqual(m1[2], m2[2], "each attempt has its own span id");
    assert.equal(h1["x-b3-traceid"], m1[1]);
    assert.equal(h1["x-b3-sampled"], "0");
    await tracing.shutdown();
  });

  it("the ratio decides new traces only: a sampled caller is recorded and an unsampled one is not, whatever the draw", async () => {
    const never = await setup(0, () => 0);
    const sent = oneAttempt(never.observer, { traceparent: `00-${T}-${S}-01` });
    await never.tracing.forceFlush();
    assert.equal(never.exporter.getFinishedSpans().length, 2);
    assert.match(String(sent["traceparent"]), new RegExp(`^00-${T}-[0-9a-f]{16}-01$`));
    await never.tracing.shutdown();

    const always = await setup(1, () => 0);
    const unsampled = oneAttempt(always.observer, { traceparent: `00-${T}-${S}-00`, tracestate: "k=v" });
    await always.tracing.forceFlush();
    assert.equal(always.exporter.getFinishedSpans().length, 0);
    assert.match(String(unsampled["traceparent"]), new RegExp(`^00-${T}-[0-9a-f]{16}-00$`));
    assert.notEqual(String(unsampled["traceparent"]).slice(36, 52), S, "a new span id, not the caller's");
    assert.equal(unsampled["tracestate"], "k=v", "tracestate travels on");
    await always.tracing.shutdown();
  });

  it("a drawn sample records a new trace whose id is the one sent on", async () => {
    const { exporter, tracing, observer } = await setup(0.01, () => 0.001);
    const sent = oneAttempt(observer, {});
    await tracing.forceFlush();
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, 2);
    const client = spans.find((s) => s.kind === SpanKind.CLIENT);
    assert.equal(sent["traceparent"], `00-${client?.spanContext().traceId}-${client?.spanContext().spanId}-01`);
    await tracing.shutdown();
  });

  it("a B3 caller that deferred the decision is joined when the ratio samples", async () => {
    const { exporter, tracing, observer } = await setup(0.5, () => 0.1);
    const sent = oneAttempt(observer, { "x-b3-traceid": T, "x-b3-spanid": S });
    await tracing.forceFlush();
    const server = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER);
    assert.equal(server?.spanContext().traceId, T);
    assert.equal(server?.parentSpanContext?.spanId, S);
    assert.equal(sent["x-b3-sampled"], "1");
    await tracing.shutdown();
  });

  it("an observer over a Tracing whose SDK samples new traces itself is refused", async () => {
    const parsed = parseTracingConfig({ serviceName: "web", samplingRatio: 0.5 });
    assert.ok(parsed.ok);
    const tracing = await createTracing(parsed.value, { exporter: new InMemorySpanExporter() });
    assert.throws(() => tracingObserver(tracing), /rootSampling/);
    await tracing.shutdown();
  });

  it("splits endpoints", () => {
    assert.deepEqual(splitEndpoint("10.1.2.3:80"), { address: "10.1.2.3", port: 80 });
    assert.deepEqual(splitEndpoint("[::1]:443"), { address: "::1", port: 443 });
    assert.deepEqual(splitEndpoint("host"), { address: "host" });
    assert.deepEqual(splitEndpoint(""), {});
  });
});
