// A request through three traced hops arrives at a real Jaeger as one trace,
// each hop's spans parented on the previous hop's, with the attributes the
// proxy promises; incoming W3C and B3 context is continued.
import assert from "node:assert/strict";
import { callChain, flushAll, startChain, type Chain, type HopSpec } from "./chain.ts";
import { parentOf, startJaeger, tag, type Jaeger, type JaegerSpan, type JaegerTrace } from "./jaeger.ts";

const SPECS: HopSpec[] = [
  { service: "hop-a", namespace: "shop", pod: "hop-a-7d9f-1", identity: "spiffe://cluster.local/ns/shop/sa/hop-a" },
  { service: "hop-b", namespace: "shop", pod: "hop-b-5c4b-2", identity: "spiffe://cluster.local/ns/shop/sa/hop-b" },
  { service: "hop-c", namespace: "billing", pod: "hop-c-66aa-3", identity: "spiffe://cluster.local/ns/billing/sa/hop-c" },
];

function serviceOf(trace: JaegerTrace, span: JaegerSpan): string {
  return trace.processes[span.processID]?.serviceName ?? "?";
}

function spansOf(trace: JaegerTrace, service: string, kind: "server" | "client"): JaegerSpan[] {
  return trace.spans
    .filter((s) => serviceOf(trace, s) === service && tag(s, "span.kind") === kind)
    .sort((a, b) => Number(tag(a, "weft.attempt") ?? 0) - Number(tag(b, "weft.attempt") ?? 0));
}

function one<T>(items: T[], what: string): T {
  assert.equal(items.length, 1, `expected exactly one ${what}, got ${items.length}`);
  return items[0] as T;
}

const randomHex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");

describe("tracing: three hops to a real Jaeger", function () {
  this.timeout(90_000);
  let jaeger: Jaeger;
  let chain: Chain | undefined;

  before(async () => {
    jaeger = await startJaeger();
  });
  after(async () => {
    await jaeger?.stop();
  });
  afterEach(async () => {
    await chain?.close();
    chain = undefined;
  });

  it("a request with no context becomes one new trace, each hop's spans parented on the previous hop's", async () => {
    chain = await startChain(SPECS, { endpoint: jaeger.otlpGrpcEndpoint, protocol: "grpc", samplingRatio: 1, scheduledDelayMillis: 100 });
    chain.failFirstAttemptFrom(1); // hop-b's first attempt to hop-c fails and is retried
    const res = await callChain(chain, {}, "payload-123");
    assert.equal(res.status, 200);
    await flushAll(chain);

    const traces = await jaeger.waitForTraces("hop-a", (ts) => ts.length === 1 && (ts[0]?.spans.length ?? 0) >= 6);
    const trace = one(traces, "trace");
    assert.equal(trace.spans.length, 6, "3 server spans + 1 client span from hop-a + 2 attempts from hop-b");

    const aServer = one(spansOf(trace, "hop-a", "server"), "hop-a server span");
    const aClient = one(spansOf(trace, "hop-a", "client"), "hop-a client span");
    const bServer = one(spansOf(trace, "hop-b", "server"), "hop-b server span");
    const bClients = spansOf(trace, "hop-b", "client");
    const cServer = one(spansOf(trace, "hop-c", "server"), "hop-c server span");
    assert.equal(bClients.length, 2);
    const [bTry1, bTry2] = bClients as [JaegerSpan, JaegerSpan];

    assert.equal(parentOf(aServer), undefined, "hop-a's server span is the root");
    assert.equal(parentOf(aClient), aServer.spanID);
    assert.equal(parentOf(bServer), aClient.spanID);
    assert.equal(parentOf(bTry1), bServer.spanID);
    assert.equal(parentOf(bTry2), bServer.spanID);
    assert.equal(parentOf(cServer), bTry2.spanID, "hop-c is called by the retry");

    // Request attributes.
    for (const s of [aServer, aClient, bServer, bTry1, bTry2, cServer]) {
      assert.equal(tag(s, "http.request.method"), "POST");
      assert.equal(tag(s, "url.path"), "/chain");
      assert.equal(tag(s, "http.route"), "/chain");
      assert.equal(tag(s, "http.request.body.size"), 11);
      assert.equal(s.operationName, "POST /chain");
    }
    assert.equal(tag(aServer, "http.response.status_code"), 200);
    assert.ok(Number(tag(aServer, "http.response.body.size")) > 0);
    assert.equal(tag(cServer, "http.response.body.size"), "hello from hop-c\n".length);
    assert.equal(tag(bTry1, "http.response.status_code"), 503);
    assert.equal(tag(bTry1, "error"), true, "a failed attempt is marked as an error");
    assert.equal(tag(bTry1, "weft.attempt"), 1);
    assert.equal(tag(bTry2, "weft.attempt"), 2);
    assert.equal(tag(bTry2, "http.request.resend_count"), 1);
    assert.equal(tag(bTry2, "http.response.status_code"), 200);

    // Peer identities: a client span names the server it called, a server span its caller.
    assert.equal(tag(aClient, "weft.peer.identity"), SPECS[1]?.identity);
    assert.equal(tag(bServer, "weft.peer.identity"), SPECS[0]?.identity);
    assert.equal(tag(bTry2, "weft.peer.identity"), SPECS[2]?.identity);
    assert.equal(tag(cServer, "weft.peer.identity"), SPECS[1]?.identity);

    // Resource attributes of each workload.
    for (const spec of SPECS) {
      const process = Object.values(trace.processes).find((p) => p.serviceName === spec.service);
      assert.ok(process, `process of ${spec.service}`);
      const ptag = (k: string) => process.tags.find((t) => t.key === k)?.value;
      assert.equal(ptag("k8s.namespace.name"), spec.namespace);
      assert.equal(ptag("k8s.pod.name"), spec.pod);
    }
  });

  it("two requests without context make two distinct traces", async () => {
    chain = await startChain(
      SPECS.map((s) => ({ ...s, service: `${s.service}-fresh` })),
      { endpoint: jaeger.otlpGrpcEndpoint, samplingRatio: 1, scheduledDelayMillis: 100 },
    );
    await callChain(chain);
    await callChain(chain);
    await flushAll(chain);
    const traces = await jaeger.waitForTraces("hop-a-fresh", (ts) => ts.length === 2 && ts.every((t) => t.spans.length === 5));
    assert.notEqual(traces[0]?.traceID, traces[1]?.traceID);
  });

  const inputs: { name: string; headers: (traceId: string, spanId: string) => Record<string, string> }[] = [
    {
      name: "W3C traceparent/tracestate",
      headers: (t, s) => ({ traceparent: `00-${t}-${s}-01`, tracestate: "vendor=opaque-value" }),
    },
    {
      name: "B3 multi-header",
      headers: (t, s) => ({ "x-b3-traceid": t, "x-b3-spanid": s, "x-b3-sampled": "1" }),
    },
    {
      name: "B3 single header",
      headers: (t, s) => ({ b3: `${t}-${s}-1` }),
    },
  ];

  for (const input of inputs) {
    it(`${input.name} from the caller is continued: every hop joins the caller's trace`, async () => {
      // Sampling ratio 0 for new traces: the spans exist only because the caller's context says sampled.
      chain = await startChain(SPECS, { endpoint: jaeger.otlpGrpcEndpoint, samplingRatio: 0, scheduledDelayMillis: 100 });
      const traceId = randomHex(16);
      const callerSpan = randomHex(8);
      const res = await callChain(chain, input.headers(traceId, callerSpan));
      assert.equal(res.status, 200);
      await flushAll(chain);
      const trace = await jaeger.waitForTrace(traceId, 5);
      assert.equal(trace.spans.length, 5);
      const aServer = one(spansOf(trace, "hop-a", "server"), "hop-a server span");
      assert.equal(parentOf(aServer), callerSpan, "hop-a's server span is a child of the caller's span");
      const bServer = one(spansOf(trace, "hop-b", "server"), "hop-b server span");
      const aClient = one(spansOf(trace, "hop-a", "client"), "hop-a client span");
      assert.equal(parentOf(bServer), aClient.spanID);

      // Hops downstream get W3C and B3 multi (the default formats), never a stale header.
      const bHeaders = chain.hops[1]?.lastHeaders ?? {};
      assert.match(String(bHeaders["traceparent"]), new RegExp(`^00-${traceId}-${aClient.spanID}-01$`));
      assert.equal(bHeaders["x-b3-traceid"], traceId);
      assert.equal(bHeaders["x-b3-spanid"], aClient.spanID);
      assert.equal(bHeaders["b3"], undefined);
      if (input.name.startsWith("W3C")) assert.equal(bHeaders["tracestate"], "vendor=opaque-value");
    });
  }

  it("spans export over OTLP/HTTP as well as gRPC", async () => {
    const specs = SPECS.map((s) => ({ ...s, service: `${s.service}-http` }));
    chain = await startChain(specs, { endpoint: jaeger.otlpHttpEndpoint, protocol: "http", samplingRatio: 1, scheduledDelayMillis: 100 });
    assert.equal((await callChain(chain)).status, 200);
    await flushAll(chain);
    const traces = await jaeger.waitForTraces("hop-a-http", (ts) => ts.length === 1 && ts[0]?.spans.length === 5);
    const trace = one(traces, "trace");
    assert.deepEqual(new Set(trace.spans.map((s) => serviceOf(trace, s))), new Set(specs.map((s) => s.service)));
  });
});
