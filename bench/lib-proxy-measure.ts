// Measuring tools for the proxy benchmark: per-process CPU and RSS from /proc,
// and fortio runs parsed into figures. (Free ports and waiting for a port to
// accept: test/support/ports.ts.)
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * Every process of the benchmark (load generator, backend, proxies) runs
 * pinned and, when we may, at a raised scheduling priority, the same for
 * every path, so other work on a shared machine steals less of their CPU.
 */
export function pinned(cpus: string, argv: string[]): [string, string[]] {
  const boost = process.getuid?.() === 0 ? ["nice", "-n", "-20"] : [];
  return ["taskset", ["-c", cpus, ...boost, ...argv]];
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * Memory only this process holds (USS: private clean + private dirty pages),
 * at the end of the phase. RSS also counts pages shared with other processes,
 * chiefly the executable's: for a proxy, ~40 MB of the node binary's text and
 * data that every Node process on the machine maps from the same file.
 */
function privateBytes(pid: number): number {
  let total = 0;
  for (const m of readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").matchAll(/^Private_(?:Clean|Dirty):\s+(\d+) kB/gm)) total += Number(m[1]) * 1024;
  return total;
}

export interface ProcUsage {
  /** CPU time over wall time: 1.0 is one vCPU busy. */
  vcpu: number;
  rssMaxBytes: number;
  /** USS at the end of the phase. */
  privateBytes: number;
}

/** Samples processes' CPU and RSS between start and stop. */
export class ProcSampler {
  readonly #pids: number[];
  #startTicks = new Map<number, number>();
  #startAt = 0;
  #rssMax = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(pids: number[]) {
    this.#pids = pids;
  }

  start(): void {
    this.#startAt = performance.now();
    for (const pid of this.#pids) {
      this.#startTicks.set(pid, cpuTicks(pid));
      this.#rssMax.set(pid, rssBytes(pid));
    }
    this.#timer = setInterval(() => {
      for (const pid of this.#pids) {
        try { this.#rssMax.set(pid, Math.max(this.#rssMax.get(pid) ?? 0, rssBytes(pid))); } catch { /* exited */ }
      }
    }, 250);
  }

  stop(): Map<number, ProcUsage> {
    clearInterval(this.#timer);
    const seconds = (performance.now() - this.#startAt) / 1000;
    const out = new Map<number, ProcUsage>();
    for (const pid of this.#pids) {
      const ticks = cpuTicks(pid) - (this.#startTicks.get(pid) ?? 0);
      out.set(pid, { vcpu: ticks / CLOCK_TICKS / seconds, rssMaxBytes: Math.max(this.#rssMax.get(pid) ?? 0, rssBytes(pid)), privateBytes: privateBytes(pid) });
    }
    return out;
  }
}

export interface LoadResult {
  qpsTarget: number;
  qpsActual: number;
  requests: number;
  /** Non-200 responses and transport errors. */
  errors: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
}

interface FortioJson {
  ActualQPS: number;
  RetCodes?: Record<string, number>;
  DurationHistogram: { Count: number; Percentiles?: { Percentile: number; Value: number }[] };
}

export interface LoadOptions {
  fortio: string;
  url: string;
  /** 0 = as fast as the connections allow (closed loop, for maximum throughput). */
  qps: number;
  connections: number;
  seconds: number;
  cpus: string;
  /** fortio's per-request log (JSON lines: start in epoch ns, latency in s), for attributing the tail. */
  accessLog?: string | undefined;
}

/**
 * Fortio's histogram resolution: its buckets are 1, 2, ... 10, 12, ... 100,
 * 120, ... times this. The default (1 ms) interpolates every sub-millisecond
 * percentile inside one bucket, which made loopback paths whose p99 differs by
 * hundreds of microseconds print nearly the same figure; 10 µs gives 0.1 ms
 * steps below 1 ms and 0.2 ms steps up to 2 ms.
 */
export const FORTIO_RESOLUTION_SECONDS = 0.00001;

/** One fortio run, pinned to `cpus`. With qps > 0 requests follow a fixed schedule (catching up after a stall). */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const [command, args] = pinned(o.cpus, [o.fortio, "load", "-qps", String(o.qps), "-c", String(o.connections), "-t", `${o.seconds}s`, "-uniform", "-r", String(FORTIO_RESOLUTION_SECONDS), "-p", "50,90,99,99.9", "-json", "-", "-quiet", ...(o.accessLog ? ["-access-log-file", o.accessLog] : []), o.url]);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => { stdout += d; });
  child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const start = stdout.indexOf("{");
  if (code !== 0 || start < 0) throw new Error(`fortio failed (${code}): ${stderr.slice(-2000)}`);
  const r = JSON.parse(stdout.slice(start)) as FortioJson;
  const pct = (p: number) => (r.DurationHistogram.Percentiles?.find((x) => x.Percentile === p)?.Value ?? NaN) * 1000;
  const okCount = r.RetCodes?.["200"] ?? 0;
  return {
    qpsTarget: o.qps,
    qpsActual: r.ActualQPS,
    requests: r.DurationHistogram.Count,
    errors: r.DurationHistogram.Count - okCount,
    p50Ms: pct(50),
    p90Ms: pct(90),
    p99Ms: pct(99),
    p999Ms: pct(99.9),
  };
}

/** CPU numbers of a taskset list ("1", "0-1", "1,3"). */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(",")) {
    const [a, b] = part.split("-").map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    for (let c = a; c <= (b !== undefined && Number.isInteger(b) ? b : a); c++) out.push(c);
  }
  return out;
}

/** Busy ticks (all but idle and iowait) of the given CPUs, from /proc/stat. */
export function cpuBusyTicks(cpus: number[], stat = readFileSync("/proc/stat", "utf8")): number {
  let busy = 0;
  for (const line of stat.split("\n")) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m || !cpus.includes(Number(m[1]))) continue;
    const f = (m[2] ?? "").trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    busy += (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
  }
  return busy;
}

/**
 * How much of the proxies' cores went to anything but the proxies under test
 * during a phase (vCPU): the other pairs, other work on the machine, the
 * kernel's softirqs. On a quiet machine it is near 0; a figure measured while
 * it is not says the proxies had to share their core.
 */
export class CoreSampler {
  readonly #cpus: number[];
  readonly #pids: number[];
  #busy = 0;
  #own = 0;
  #at = 0;

  constructor(cpuList: string, pids: number[]) {
    this.#cpus = parseCpuList(cpuList);
    this.#pids = pids;
  }

  #ownTicks(): number {
    let n = 0;
    for (const pid of this.#pids) { try { n += cpuTicks(pid); } catch { /* exited */ } }
    return n;
  }

  start(): void {
    this.#at = performance.now();
    this.#busy = cpuBusyTicks(this.#cpus);
    this.#own = this.#ownTicks();
  }

  /** vCPU used on those cores by everything but `pids` since start. */
  stop(): number {
    const seconds = (performance.now() - this.#at) / 1000;
    const others = cpuBusyTicks(this.#cpus) - this.#busy - (this.#ownTicks() - this.#own);
    return Math.max(0, others) / CLOCK_TICKS / seconds;
  }
}
