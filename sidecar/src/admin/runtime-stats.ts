// The proxy's runtime timeline, for attributing its latency tail (issue 24):
// when WEFT_RUNTIME_STATS_FILE names a file, the proxy appends one JSON line
// per event to it, with times in epoch milliseconds (so they line up with a
// load generator's per-request log on the same machine):
//   {"t":"start", ...}   the settings, once;
//   {"t":"gc", "at", "ms", "kind"}   every GC pause (a PerformanceObserver 'gc' entry);
//   {"t":"stall", "from", "to", "lateMs", "ranMs", "waitedMs"}   every turn of
//     the event loop that held a 1 ms timer back by more than the threshold:
//     between `from` (the previous tick) and `to` the loop did not get round
//     to it; the main thread spent `ranMs` of that on the CPU (JS, GC,
//     TLS) and `waitedMs` runnable but waiting for a CPU (another process had
//     the core), from /proc/thread-self/schedstat;
//   {"t":"loop", ...}   the event loop delay histogram (monitorEventLoopDelay) so far, once a second.
// The probe ticks every 1 ms while the loop is busy (event-loop utilization
// of 5 % or more over the last 100 ms) and every 50 ms while it is idle, so an
// idle instrumented proxy takes almost no CPU from the proxies it shares a core with
// (a 1 ms probe alone costs ~3-5 % of a core).
// Off (the default) nothing here is loaded: main.ts imports this module only
// when the variable is set, so the proxy pays nothing for it.
import { closeSync, createWriteStream, openSync, readSync, type WriteStream } from "node:fs";
import { PerformanceObserver, constants, monitorEventLoopDelay } from "node:perf_hooks";
import type { Clock } from "../../../lib/clock.ts";

export const RUNTIME_STATS_ENV = "WEFT_RUNTIME_STATS_FILE";

export interface RuntimeStatsOptions {
  file: string;
  clock: Clock;
  /** The probe timer's period while the loop is busy (default 1 ms). */
  intervalMs?: number;
  /** Its period while the loop is idle (default 50 ms). */
  idleIntervalMs?: number;
  /** Event-loop utilization from which the loop counts as busy (default 0.05). */
  busyUtilization?: number;
  /** A tick later than this is a stall (default 1 ms). */
  thresholdMs?: number;
  /** Epoch milliseconds at clock.now() = 0 (default performance.timeOrigin). */
  timeOrigin?: number;
}

/** CPU time and run-queue wait of a thread, in ms (the first two fields of schedstat, which are ns). */
export interface SchedSample {
  ranMs: number;
  waitedMs: number;
}

export interface Stall {
  t: "stall";
  from: number;
  to: number;
  lateMs: number;
  ranMs: number;
  waitedMs: number;
}

/** Parses /proc/<pid>/task/<tid>/schedstat ("<run ns> <wait ns> <slices>"); undefined when it is not that. */
export function parseSchedstat(text: string): SchedSample | undefined {
  const [run, wait] = text.trim().split(" ");
  const ran = Number(run);
  const waited = Number(wait);
  if (!run || !wait || !Number.isFinite(ran) || !Number.isFinite(waited)) return undefined;
  return { ranMs: ran / 1e6, waitedMs: waited / 1e6 };
}

/**
 * The pure core: one tick of the probe timer at `now`, the previous at
 * `prev` (both on the clock's scale; `origin` turns them into epoch ms).
 * A stall when the tick came more than `thresholdMs` after it was due.
 */
export function stallOf(o: { prev: number; now: number; intervalMs: number; thresholdMs: number; origin: number; schedPrev?: SchedSample | undefined; schedNow?: SchedSample | undefined }): Stall | undefined {
  const lateMs = o.now - o.prev - o.intervalMs;
  if (lateMs <= o.thresholdMs) return undefined;
  const round = (n: number) => Math.round(n * 1000) / 1000;
  const ran = o.schedPrev && o.schedNow ? o.schedNow.ranMs - o.schedPrev.ranMs : NaN;
  const waited = o.schedPrev && o.schedNow ? o.schedNow.waitedMs - o.schedPrev.waitedMs : NaN;
  return { t: "stall", from: round(o.origin + o.prev), to: round(o.origin + o.now), lateMs: round(lateMs), ranMs: round(ran), waitedMs: round(waited) };
}

/** The probe's next period: fine while the loop works, coarse while it idles. */
export function probePeriod(utilization: number, o: { intervalMs: number; idleIntervalMs: number; busyUtilization: number }): number {
  return utilization >= o.busyUtilization ? o.intervalMs : o.idleIntervalMs;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};

/** The thread's schedstat, re-read from one open descriptor (a pread at 0 per sample: one syscall). */
class SchedReader {
  readonly #fd: number | undefined;
  readonly #buf = Buffer.alloc(128);

  constructor() {
    try {
      this.#fd = openSync("/proc/thread-self/schedstat", "r");
    } catch {
      this.#fd = undefined; // not Linux, or schedstats off: stalls are still recorded, without the split
    }
  }

  read(): SchedSample | undefined {
    if (this.#fd === undefined) return undefined;
    const n = readSync(this.#fd, this.#buf, 0, this.#buf.length, 0);
    return parseSchedstat(this.#buf.toString("latin1", 0, n));
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
  }
}

export interface RuntimeStats {
  /** Writes the last histogram line and closes the file. */
  stop(): Promise<void>;
}

/** Starts recording; every timer is unref'd, so it never keeps the process alive. */
export function startRuntimeStats(o: RuntimeStatsOptions): RuntimeStats {
  const intervalMs = o.intervalMs ?? 1;
  const thresholdMs = o.thresholdMs ?? 1;
  const periods = { intervalMs, idleIntervalMs: o.idleIntervalMs ?? 50, busyUtilization: o.busyUtilization ?? 0.05 };
  const origin = o.timeOrigin ?? performance.timeOrigin;
  const out: WriteStream = createWriteStream(o.file, { flags: "a" });
  out.on("error", () => undefined); // a full disk must not take the proxy down; the bench sees a short file
  let pending: string[] = [];
  const emit = (event: object) => { pending.push(JSON.stringify(event)); };
  const flush = () => {
    if (pending.length === 0) return;
    out.write(pending.join("\n") + "\n");
    pending = [];
  };
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const loopLine = () => ({
    t: "loop", at: Math.round(origin + o.clock.now()), count: histogram.count,
    p50Ms: histogram.percentile(50) / 1e6, p99Ms: histogram.percentile(99) / 1e6, p999Ms: histogram.percentile(99.9) / 1e6, maxMs: histogram.max / 1e6,
  });
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      // Node's GC entries carry { kind, flags } in detail; the type declares detail only on marks and measures.
      const kind = (e as unknown as { detail?: { kind?: number } | null }).detail?.kind;
      emit({ t: "gc", at: Math.round((origin + e.startTime) * 1000) / 1000, ms: Math.round(e.duration * 1000) / 1000, kind: kind === undefined ? "unknown" : (GC_KINDS[kind] ?? String(kind)) });
    }
  });
  gc.observe({ entryTypes: ["gc"] });
  const sched = new SchedReader();
  emit({ t: "start", at: origin + o.clock.now(), pid: process.pid, intervalMs, thresholdMs, schedstat: sched.read() !== undefined });

  let stopped = false;
  let prev = o.clock.now();
  let schedPrev = sched.read();
  let timer: unknown;
  let period = intervalMs;
  let elu = performance.eventLoopUtilization();
  let checkAt = prev + 100;
  const tick = () => {
    const now = o.clock.now();
    const schedNow = sched.read();
    const stall = stallOf({ prev, now, intervalMs: period, thresholdMs, origin, schedPrev, schedNow });
    if (stall) emit(stall);
    prev = now;
    schedPrev = schedNow;
    if (now >= checkAt) {
      const last = performance.eventLoopUtilization(elu);
      elu = performance.eventLoopUtilization();
      period = probePeriod(last.utilization, periods);
      checkAt = now + 100;
    }
    if (!stopped) timer = o.clock.setTimeout(tick, period);
  };
  timer = o.clock.setTimeout(tick, period);
  let flushTimer: unknown;
  const every = () => {
    emit(loopLine());
    flush();
    if (!stopped) flushTimer = o.clock.setTimeout(every, 1000);
  };
  flushTimer = o.clock.setTimeout(every, 1000);

  return {
    stop: async () => {
      if (stopped) return;
      stopped = true;
      o.clock.clearTimeout(timer);
      o.clock.clearTimeout(flushTimer);
      gc.disconnect();
      emit(loopLine());
      histogram.disable();
      sched.close();
      flush();
      await new Promise<void>((resolve) => out.end(resolve));
    },
  };
}
