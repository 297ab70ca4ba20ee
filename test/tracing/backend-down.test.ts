// When the tracing backend is down or hangs, traffic is unaffected and memory
// stays bounded: finished spans beyond the queue's capacity are dropped and counted.
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import v8 from "node:v8";
import vm from "node:vm";
import { callChain, startChain, hopTracing, type Chain } from "./chain.ts";
import { freePort } from "../support/ports.ts";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const SPECS = ["a", "b", "c"].map((h) => ({
  service: `down-${h}`,
  namespace: "down",
  pod: `down-${h}-0`,
  identity: `spiffe://cluster.local/ns/down/sa/down-${h}`,
}));

/** A backend that accepts connections and never answers (a hung collector). */
async function blackHole(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const backends: { name: string; start(): Promise<{ endpoint: string; close(): Promise<void> }> }[] = [
  { name: "refuses connections", start: async () => ({ endpoint: `http://127.0.0.1:${await freePort()}`, close: async () => undefined }) },
  { name: "accepts connections and never answers", start: blackHole },
];

describe("tracing: a backend that is down", function () {
  this.timeout(120_000);
  let chain: Chain | undefined;
  let backend: { endpoint: string; close(): Promise<void> } | undefined;

  afterEach(async () => {
    await chain?.close();
    chain = undefined;
    await backend?.close();
    backend = undefined;
  });

  for (const kind of backends) {
    for (const protocol of ["grpc", "http"] as const) {
      it(`requests are unaffected when the backend ${kind.name} (OTLP/${protocol})`, async () => {
        backend = await kind.start();
        chain = await startChain(SPECS, {
          endpoint: backend.endpoint,
          protocol,
          samplingRatio: 1,
          maxQueueSize: 100,
          maxExportBatchSize: 50,
          scheduledDelayMillis: 50,
          exportTimeoutMillis: 5000,
        });
        const n = 300;
        let slowest = 0;
        for (let i = 0; i < n; i += 10) {
          const batch = await Promise.all(
            Array.from({ length: 10 }, async () => {
              const t0 = performance.now();
              const r = await callChain(chain as Chain, {}, "x");
              slowest = Math.max(slowest, performance.now() - t0);
              return r.status;
            }),
          );
          assert.deepEqual(batch, Array(10).fill(200));
        }
        // Generous for a loaded 2-core machine; an export blocking the request
        // path would make some request wait the 5s export timeout.
        assert.ok(slowest < 3000, `slowest request took ${slowest.toFixed(0)}ms`);
        const first = chain.hops[0];
        assert.ok(first);
        const s = first.tracing.stats();
        assert.equal(s.exported, 0);
        assert.ok(s.queued <= 100, `queue holds ${s.queued} spans`);
        assert.ok(first.tracing.droppedSpans() > 0, "spans were dropped and counted");
        // Every span is accounted for: queued, in flight, or dropped.
        assert.equal(s.queued + s.inFlight + s.droppedQueueFull + s.droppedExportFailed, 2 * n);
      });
    }
  }

  it("heap stays bounded over 20,000 spans with the backend down, and every span is counted", async () => {
    backend = await blackHole();
    const tracing = await hopTracing(SPECS[0] ?? { service: "x", namespace: "x", pod: "x", identity: "x" }, {
      endpoint: backend.endpoint,
      samplingRatio: 1,
      maxQueueSize: 512,
      maxExportBatchSize: 128,
      scheduledDelayMillis: 50,
      exportTimeoutMillis: 500,
    });
    try {
      // Each span carries ~4 KB, so an unbounded queue would grow the heap by
      // tens of MB (16 MB measured with a 100,000 queue); the bounded one holds
      // at most 512 queued + 2 batches in flight (~3 MB; 0.7 MB growth measured).
      const payload = (i: number) => String(i).padEnd(4096, "p");
      const total = 20_000;
      const burn = async (count: number) => {
        for (let i = 0; i < count; i++) {
          const span = tracing.tracer.startSpan("work", { attributes: { payload: payload(i), i } });
          span.end();
          if (i % 500 === 0) await new Promise((r) => setImmediate(r));
        }
      };
      await burn(2000); // warm up: the queue fills, the exporter's buffers exist
      const before = heapUsed();
      await burn(total - 2000);
      const after = heapUsed();
      const s = tracing.stats();
      assert.ok(s.queued <= 512, `queue holds ${s.queued}`);
      assert.equal(s.exported, 0);
      assert.equal(s.queued + s.inFlight + s.droppedQueueFull + s.droppedExportFailed, total);
      assert.ok(tracing.droppedSpans() >= total - 512 - s.inFlight, `dropped ${tracing.droppedSpans()}`);
      const growthMb = (after - before) / 1024 / 1024;
      assert.ok(growthMb < 6, `heap grew ${growthMb.toFixed(1)} MB over ${total - 2000} spans`);
    } finally {
      await tracing.shutdown();
    }
  });
});
