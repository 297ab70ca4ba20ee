// `npm run bench -- proxy-tracing`: what tracing costs the Weft proxy pair.
// Three pairs (tracing off; on at 1 % sampling; on at 100 %), exporting OTLP/gRPC
// to a real Jaeger, carry the same fixed-rate fortio load in interleaved rounds;
// the report gives the pair's CPU per 1,000 rps for each and checks the target
// (1 % sampling costs at most 10 % more CPU than off). Same layout as the proxy
// suite: load generator and backend on one core, proxies on the other (Jaeger
// is not pinned).
// Flags: --seconds N (per round, default 15), --rounds N (5), --warmup N (s per
// pair before the rounds, 10), --qps N (1000),
// --connections N (16), --proxy-cpus 1 --load-cpus 0, "--weft-node-flags=--cpu-prof"
// (Node flags for every Weft proxy).
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { TRACING_ENV } from "../lib/tracing-config.ts";
import { createTestMesh, issueTestLeaf } from "../test/fixtures/mesh-pki.ts";
import { startJaeger, type Jaeger } from "../test/tracing/jaeger.ts";
import { pairBenchMachine } from "./lib-proxy-fortio.ts";
import { freePort, waitForPort } from "../test/support/ports.ts";
import { FORTIO_RESOLUTION_SECONDS, ProcSampler, runLoad, type LoadResult } from "./lib-proxy-measure.ts";
import { backendConfig, startNginx, type NginxProcess } from "./lib-proxy-nginx.ts";
import { startWeftPair, type ProxyPair } from "./lib-proxy-weft.ts";
import type { BenchReport } from "./report.ts";

interface Mode {
  name: string;
  /** Undefined: tracing off (no endpoint). */
  ratio?: number;
}

const MODES: Mode[] = [{ name: "off" }, { name: "on, 1% sampling", ratio: 0.01 }, { name: "on, 100% sampling", ratio: 1 }];
const fmt = (n: number, digits = 3) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

function median(values: number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

interface Round {
  load: LoadResult;
  /** vCPU of client + server proxy. */
  vcpu: number;
  /** vCPU per 1,000 rps actually carried. */
  per1k: number;
}

export async function run(args: string[]): Promise<BenchReport> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: "string", default: "15" },
      rounds: { type: "string", default: "5" },
      warmup: { type: "string", default: "10" },
      qps: { type: "string", default: "1000" },
      connections: { type: "string", default: "16" },
      "weft-node-flags": { type: "string", default: "" },
      "proxy-cpus": { type: "string" },
      "load-cpus": { type: "string" },
    },
  });
  const { fortio, cores, loadCpus, proxyCpus, loadBefore } = pairBenchMachine({ loadCpus: values["load-cpus"], proxyCpus: values["proxy-cpus"] });
  const rounds = Math.max(1, Number(values.rounds));
  const warmup = Number(values.warmup);
  const nodeFlags = (values["weft-node-flags"] ?? "").split(" ").filter(Boolean);
  const seconds = Number(values.seconds);
  const qps = Number(values.qps);
  const connections = Number(values.connections);

  const dir = mkdtempSync(join(tmpdir(), "weft-bench-proxy-tracing-"));
  let backend: NginxProcess | undefined;
  let jaeger: Jaeger | undefined;
  const pairs: { mode: Mode; pair: ProxyPair }[] = [];
  const results = new Map<Mode, Round[]>(MODES.map((m) => [m, []]));
  const saved = Object.fromEntries(Object.values(TRACING_ENV).map((k) => [k, process.env[k]]));
  try {
    jaeger = await startJaeger();
    const mesh = await createTestMesh();
    const clientLeaf = await issueTestLeaf(mesh, { namespace: "bench", serviceAccount: "client" });
    const serverLeaf = await issueTestLeaf(mesh, { namespace: "bench", serviceAccount: "server" });
    const backendPort = await freePort();
    backend = await startNginx("backend", join(dir, "backend"), backendConfig(join(dir, "backend"), backendPort), backendPort, loadCpus, (p) => waitForPort(p));
    for (const [i, mode] of MODES.entries()) {
      // The proxies inherit the environment at spawn: that is their tracing configuration.
      for (const k of Object.values(TRACING_ENV)) delete process.env[k];
      if (mode.ratio !== undefined) {
        process.env[TRACING_ENV.endpoint] = jaeger.otlpGrpcEndpoint;
        process.env[TRACING_ENV.protocol] = "grpc";
        process.env[TRACING_ENV.samplingRatio] = String(mode.ratio);
        process.env[TRACING_ENV.serviceName] = `bench-${i}`;
      }
      pairs.push({ mode, pair: await startWeftPair({ dir: join(dir, `weft-${i}`), backendPort, proxyCpus, mesh, clientLeaf, serverLeaf, nodeFlags }) });
    }
    for (const k of Object.values(TRACING_ENV)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    // As in the proxy suite: after a 3 s warm-up the first round of a pair still
    // ran 30-45 % above its later rounds (heap growth, optimisation), which
    // decided the median with 3 rounds.
    for (const { pair } of pairs) await runLoad({ fortio, url: pair.url, qps, connections, seconds: warmup, cpus: loadCpus });
    // Interleaved rounds: drift in the machine's other load falls on every mode alike.
    for (let round = 0; round < rounds; round++) {
      for (const { mode, pair } of pairs) {
        const sampler = new ProcSampler(pair.pids.map((p) => p.pid));
        sampler.start();
        const load = await runLoad({ fortio, url: pair.url, qps, connections, seconds, cpus: loadCpus });
        const usage = sampler.stop();
        const vcpu = pair.pids.reduce((n, p) => n + (usage.get(p.pid)?.vcpu ?? NaN), 0);
        const per1k = (vcpu * 1000) / load.qpsActual;
        console.error(`[bench proxy-tracing] ${mode.name}: ${fmt(vcpu)} vCPU at ${fmt(load.qpsActual, 0)} rps (${fmt(per1k)} per 1,000 rps), p99 ${fmt(load.p99Ms)} ms, ${load.errors} errors`);
        results.get(mode)?.push({ load, vcpu, per1k });
      }
    }
    // Sanity: sampled spans reached the backend (the 100 % pair's at least).
    const traced = await jaeger.getServices().catch(() => [] as string[]);
    console.error(`[bench proxy-tracing] services in Jaeger: ${traced.join(", ")}`);
  } finally {
    for (const { pair } of pairs) await pair.stop().catch(() => {});
    backend?.child.kill("SIGTERM");
    await jaeger?.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }

  const summary = MODES.map((mode) => {
    const r = results.get(mode) ?? [];
    return {
      mode,
      per1k: median(r.map((x) => x.per1k)),
      vcpu: median(r.map((x) => x.vcpu)),
      rps: median(r.map((x) => x.load.qpsActual)),
      p50: median(r.map((x) => x.load.p50Ms)),
      p99: median(r.map((x) => x.load.p99Ms)),
      errors: r.reduce((n, x) => n + x.load.errors, 0),
      all: r.map((x) => x.per1k),
    };
  });
  const off = summary[0]!;
  // Each round's figure against the "off" pair's in the same round (measured
  // within a minute of each other), to show the spread the medians hide.
  const paired = (s: (typeof summary)[number]) => s.all.map((x, i) => `${fmt(((x - (off.all[i] ?? NaN)) / (off.all[i] ?? NaN)) * 100, 0)}%`).join(" ");
  const rows = summary.map((s) => [
    s.mode.name,
    fmt(s.per1k),
    s === off ? "-" : `${fmt(((s.per1k - off.per1k) / off.per1k) * 100, 1)}%`,
    fmt(s.vcpu),
    fmt(s.rps, 0),
    fmt(s.p50),
    fmt(s.p99),
    String(s.errors),
    s.all.map((x) => fmt(x)).join(" "),
    s === off ? "-" : paired(s),
  ]);
  const one = summary[1]!;
  const increase = (one.per1k - off.per1k) / off.per1k;
  return {
    suite: "proxy-tracing",
    description: `Weft proxy pair (client + server proxy, mTLS) at ${qps} rps fixed rate, fortio ${connections} connections, ${seconds} s per round, ${rounds} rounds interleaved across the three pairs (medians), after ${warmup} s warm-up per pair, fortio histogram resolution ${FORTIO_RESOLUTION_SECONDS * 1e6} µs; tracing exported by OTLP/gRPC to Jaeger on loopback; load generator and backend on CPU ${loadCpus}, proxies on CPU ${proxyCpus} of ${cores}; 1-minute load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] ?? 0).toFixed(1)} after. CPU is the two proxies' together.`,
    columns: ["tracing", "vCPU per 1,000 rps", "vs off", "vCPU", "rps", "p50 ms", "p99 ms", "errors", "per round", "vs off, per round"],
    rows,
    targets: {
      "CPU at 1% sampling <= off + 10%": { target: `<= ${fmt(off.per1k * 1.1)} vCPU per 1,000 rps`, measured: `${fmt(one.per1k)} (${fmt(increase * 100, 1)}%)`, met: increase <= 0.1 },
    },
    data: { summary },
  };
}
