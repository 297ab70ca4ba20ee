// Child process of the discovery benchmark: the control plane's discovery
// server alone, driven over IPC, reporting its own RSS and CPU.
import { readFileSync } from "node:fs";
import { getHeapSpaceStatistics } from "node:v8";
import { Registry } from "prom-client";
import { startDiscoveryServer, type DiscoveryServer } from "../control-plane/src/discovery-server.ts";
import type { MeshModel } from "../control-plane/src/mesh-state.ts";
import { buildBenchMesh, withChange, type BenchMeshSpec } from "./lib-discovery-model.ts";

type Command =
  | { type: "start"; tls: { keyPem: string; certChainPem: string; anchorsPem: string }; trustDomain: string; mesh: BenchMeshSpec; quietMs: number; maxDelayMs: number }
  | { type: "change"; id: number }
  /** `resetPeak`: the reply's peak covers the time since the last reset; a new one starts. */
  | { type: "usage"; resetPeak?: boolean }
  | { type: "stop" };

let server: DiscoveryServer | null = null;
let model: MeshModel | null = null;
let peakRss = 0;
/** Changes published since the last flush. */
const pendingIds: number[] = [];
const registry = new Registry();
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

const now = () => Date.now();
const reply = (m: object): void => {
  process.send?.(m);
};

process.on("message", (raw: unknown) => {
  void handle(raw as Command).catch((err: unknown) => reply({ type: "error", message: String(err) }));
});

async function handle(cmd: Command): Promise<void> {
  switch (cmd.type) {
    case "start":
      model = buildBenchMesh(cmd.mesh);
      server = await startDiscoveryServer({ host: "127.0.0.1", tls: cmd.tls, trustDomain: cmd.trustDomain, initialModel: model, debounce: { quietMs: cmd.quietMs, maxDelayMs: cmd.maxDelayMs }, registry,
        // The simulated proxies share one certificate per namespace (issuing 1,000 would dominate the set-up);
        // real proxies each hold their own, so the per-certificate stream cap is lifted here.
        maxStreamsPerCertificate: Number.MAX_SAFE_INTEGER });
      if (process.env.WEFT_BENCH_DEBUG) {
        setInterval(() => {
          const m = process.memoryUsage();
          const mib = (n: number) => Math.round(n / 1048576);
          const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name.replace(/_space$/, ""), `${mib(s.space_used_size)}/${mib(s.space_size)}`]));
          const maps = readFileSync("/proc/self/maps", "utf8").split("\n").map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 5 && f[0]?.includes("-"));
          const maps256k = maps.filter((f) => { const [a, b] = (f[0] ?? "").split("-"); return parseInt(b ?? "0", 16) - parseInt(a ?? "0", 16) === 262144; }).length;
          console.error(JSON.stringify({ ...server?.stats(), maps256k, rssMb: mib(m.rss), heapMb: `${mib(m.heapUsed)}/${mib(m.heapTotal)}`, externalMb: mib(m.external), arrayBuffersMb: mib(m.arrayBuffers), spaces }));
        }, 5000).unref();
      }
      return reply({ type: "started", port: server.port });
    case "change": {
      if (!server || !model) return;
      model = withChange(model, cmd.id);
      reply({ type: "changed", id: cmd.id, at: now() });
      pendingIds.push(cmd.id);
      const next = model;
      // Called when the debounce window closes; the fan-out (compile, diff, a write to every
      // subscribed stream) runs synchronously right after it, so the immediate marks its end.
      // `windowAt`: the debounce window closed (the flush starts); `syncAt`: the synchronous fan-out
      // returned (microtask); `at`: the next event-loop turn, after Node handed the writes to the sockets.
      server.publish(() => {
        const ids = pendingIds.splice(0);
        const windowAt = now();
        let syncAt = 0;
        queueMicrotask(() => (syncAt = now()));
        setImmediate(() => reply({ type: "flushed", ids, windowAt, syncAt, at: now() }));
        return next;
      });
      return;
    }
    case "usage": {
      const resetPeak = cmd.resetPeak === true;
      const usage = process.resourceUsage();
      const metric = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values.reduce((a, v) => a + v.value, 0) ?? 0;
      const memory = process.memoryUsage();
      reply({
        type: "usage",
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        external: memory.external,
        peakRss,
        cpuUs: usage.userCPUTime + usage.systemCPUTime,
        at: now(),
        streams: server?.stats().streams ?? 0,
        flushes: await metric("weft_discovery_flushes_total"),
        flushSecondsSum: ((await registry.getSingleMetric("weft_discovery_flush_seconds")?.get())?.values ?? []).find((v) => (v as { metricName?: string }).metricName === "weft_discovery_flush_seconds_sum")?.value ?? 0,
        pushes: await metric("weft_discovery_pushes_total"),
      });
      if (resetPeak) peakRss = memory.rss;
      return;
    }
    case "stop":
      clearInterval(sampler);
      await server?.stop(500);
      process.exit(0);
  }
}
