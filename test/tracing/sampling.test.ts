// Sampling is parent-based: the ratio decides only for requests that arrive
// without context; a caller's sampled or unsampled decision is followed, and
// passed on downstream.
import assert from "node:assert/strict";
import { callChain, flushAll, startChain, type Chain, type HopSpec } from "./chain.ts";
import { startJaeger, type Jaeger } from "./jaeger.ts";

const randomHex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");

function specs(prefix: string): HopSpec[] {
  return ["a", "b", "c"].map((h) => ({
    service: `${prefix}-${h}`,
    namespace: "sampling",
    pod: `${prefix}-${h}-0`,
    identity: `spiffe://cluster.local/ns/sampling/sa/${prefix}-${h}`,
  }));
}

describe("tracing: sampling", function () {
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

  it("ratio 0 records nothing for new traces but follows a sampled caller", async () => {
    chain = await startChain(specs("ratio0"), { endpoint: jaeger.otlpGrpcEndpoint, samplingRatio: 0, scheduledDelayMillis: 100 });
    for (let i = 0; i < 20; i++) assert.equal((await callChain(chain)).status, 200);
    const traceId = randomHex(16);
    assert.equal((await callChain(chain, { traceparent: `00-${traceId}-${randomHex(8)}-01` })).status, 200);
    await flushAll(chain);

    const trace = await jaeger.waitForTrace(traceId, 5);
    assert.equal(trace.spans.length, 5);
    // Only that one trace exists for the chain's first service.
    const traces = await jaeger.getTraces("ratio0-a");
    assert.deepEqual(traces.map((t) => t.traceID), [traceId]);
    for (const hop of chain.hops) assert.ok(hop.tracing.stats().exported <= 2, "only the sampled trace's spans were exported");

    // Unsampled new traces still propagate context, flagged not-sampled, so
    // downstream hops agree not to record either.
    await callChain(chain);
    assert.match(String(chain.hops[2]?.lastHeaders?.["traceparent"]), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    assert.equal(chain.hops[2]?.lastHeaders?.["x-b3-sampled"], "0");
  });

  it("ratio 1 follows an unsampled caller: nothing is recorded", async () => {
    chain = await startChain(specs("unsampled"), { endpoint: jaeger.otlpGrpcEndpoint, samplingRatio: 1, scheduledDelayMillis: 100 });
    const traceId = randomHex(16);
    assert.equal((await callChain(chain, { traceparent: `00-${traceId}-${randomHex(8)}-00` })).status, 200);
    // A sampled request afterwards, as a marker that exports have gone through.
    const marker = randomHex(16);
    assert.equal((await callChain(chain, { traceparent: `00-${marker}-${randomHex(8)}-01` })).status, 200);
    await flushAll(chain);
    await jaeger.waitForTrace(marker, 5);
    assert.equal(await jaeger.getTrace(traceId), undefined);
    assert.match(String(chain.hops[1]?.lastHeaders?.["traceparent"]), new RegExp(`^00-${marker}-`));
  });

  it("a ratio between 0 and 1 samples about that share of new traces", async () => {
    chain = await startChain(specs("ratio25"), { endpoint: jaeger.otlpGrpcEndpoint, samplingRatio: 0.25, scheduledDelayMillis: 100 });
    const n = 200;
    for (let i = 0; i < n; i++) assert.equal((await callChain(chain)).status, 200);
    await flushAll(chain);
    const first = chain.hops[0];
    assert.ok(first);
    // Each sampled request makes 2 spans at the first hop (server + client).
    const sampled = first.tracing.stats().exported / 2;
    // Binomial(200, 0.25): mean 50, sd ~6.1; 20..80 is about five sd either side.
    assert.ok(sampled >= 20 && sampled <= 80, `sampled ${sampled} of ${n}`);
    const traces = await jaeger.waitForTraces("ratio25-a", (ts) => ts.length === sampled && ts.every((t) => t.spans.length === 5));
    // Every sampled trace is complete: the decision was made once, at the first hop.
    for (const t of traces) assert.equal(t.spans.length, 5);
  });
});
