// Where the slowest 1 % of a Weft pair's requests went (issue 24): fortio's
// per-request log (-access-log-file: each request's start in epoch ns and its
// latency) lined up against each proxy's runtime timeline
// (WEFT_RUNTIME_STATS_FILE, sidecar/src/admin/runtime-stats.ts: GC pauses and
// event-loop stalls with the main thread's run vs run-queue time). Both use
// the machine's realtime clock, so a request and a pause that overlap in time
// overlapped in fact (to within the probe's 1 ms period).
//
// A slow request "overlapped" an event when their intervals intersect. Each
// share is printed beside the same share over all requests: a cause explains
// the tail only where it touches slow requests far more often than requests at large.
import { readFileSync } from "node:fs";

export interface RequestRecord {
  /** Epoch ms. */
  start: number;
  ms: number;
}

export interface GcPause { at: number; ms: number; kind: string }
export interface LoopStall { from: number; to: number; lateMs: number; ranMs: number; waitedMs: number }
export interface ProxyTimeline { label: string; gcs: GcPause[]; stalls: LoopStall[]; loop?: { p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number; count: number } }

/** Lines of fortio's JSON access log; lines that are not a request (or failed) are skipped. */
export function parseFortioAccessLog(text: string): RequestRecord[] {
  const out: RequestRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const r = JSON.parse(line) as { latency?: number; timestamp?: number; ok?: boolean };
      if (typeof r.latency === "number" && typeof r.timestamp === "number" && r.ok !== false) out.push({ start: r.timestamp / 1e6, ms: r.latency * 1000 });
    } catch { /* a torn last line */ }
  }
  return out;
}

/** A proxy's runtime-stats file; unknown lines are skipped. */
export function parseRuntimeStats(label: string, text: string): ProxyTimeline {
  const t: ProxyTimeline = { label, gcs: [], stalls: [] };
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    let e: Record<string, unknown>;
    try { e = JSON.parse(line) as Record<string, unknown>; } catch { continue; }
    if (e["t"] === "gc") t.gcs.push({ at: Number(e["at"]), ms: Number(e["ms"]), kind: String(e["kind"]) });
    else if (e["t"] === "stall") t.stalls.push({ from: Number(e["from"]), to: Number(e["to"]), lateMs: Number(e["lateMs"]), ranMs: Number(e["ranMs"]), waitedMs: Number(e["waitedMs"]) });
    else if (e["t"] === "loop") t.loop = { p50Ms: Number(e["p50Ms"]), p99Ms: Number(e["p99Ms"]), p999Ms: Number(e["p999Ms"]), maxMs: Number(e["maxMs"]), count: Number(e["count"]) };
  }
  return t;
}

export function readRuntimeStats(label: string, file: string): ProxyTimeline {
  let text = "";
  try { text = readFileSync(file, "utf8"); } catch { /* none written: an empty timeline */ }
  return parseRuntimeStats(label, text);
}

/** Intervals answering "does any of them intersect [s, e]?" in O(log n). */
export class IntervalIndex {
  readonly #starts: number[];
  /** The latest end among intervals 0..i (sorted by start). */
  readonly #maxEnds: number[];

  constructor(intervals: [number, number][]) {
    const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
    this.#starts = sorted.map((i) => i[0]);
    let max = -Infinity;
    this.#maxEnds = sorted.map((i) => (max = Math.max(max, i[1])));
  }

  get size(): number { return this.#starts.length; }

  overlaps(s: number, e: number): boolean {
    // The last interval starting at or before e.
    let lo = 0;
    let hi = this.#starts.length - 1;
    let idx = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#starts[mid] ?? Infinity) <= e) { idx = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return idx >= 0 && (this.#maxEnds[idx] ?? -Infinity) >= s;
  }
}

export interface Cause {
  name: string;
  /** Share of the slowest requests that overlapped it, 0..1. */
  slow: number;
  /** Share of all requests that did. */
  all: number;
}

export interface TailAttribution {
  requests: number;
  slowCount: number;
  /** The slowest requests are those at or above this latency (ms). */
  slowFromMs: number;
  causes: Cause[];
  /** Per proxy: GC pauses and stalls recorded over the whole run, and its loop-delay histogram. */
  proxies: { label: string; gcs: number; majorGcs: number; gcMaxMs: number; stalls: number; stallMaxMs: number; loop?: ProxyTimeline["loop"] }[];
}

export interface AttributionOptions {
  /** The slowest share to explain (default 0.01). */
  fraction?: number;
  /** A loop stall counts when its lateness exceeds this (default 1 ms). */
  stallMs?: number;
  /** A stall "waited for the CPU" when the thread was runnable but not running for more than this (default 1 ms). */
  waitedMs?: number;
}

/**
 * The pure core: which events the slowest `fraction` of requests overlapped,
 * against all requests. Causes (not exclusive, except "none"):
 * a GC pause (any; major only), a loop stall > stallMs (any proxy; per
 * proxy), a stall in which the thread waited > waitedMs for a CPU (another
 * process held the core), a stall in which it ran (JS or GC) more than it waited,
 * and none of these (the time went elsewhere: the kernel, the load generator, the backend).
 */
export function attributeTail(requests: RequestRecord[], timelines: ProxyTimeline[], o: AttributionOptions = {}): TailAttribution {
  const fraction = o.fraction ?? 0.01;
  const stallMs = o.stallMs ?? 1;
  const waitedMs = o.waitedMs ?? 1;
  const sorted = [...requests].sort((a, b) => b.ms - a.ms);
  const slowCount = Math.max(requests.length > 0 ? 1 : 0, Math.round(requests.length * fraction));
  const slow = sorted.slice(0, slowCount);
  const gcs = timelines.flatMap((t) => t.gcs);
  const stalls = timelines.flatMap((t) => t.stalls).filter((s) => s.lateMs > stallMs);
  const gcSpan = (g: GcPause): [number, number] => [g.at, g.at + g.ms];
  const stallSpan = (s: LoopStall): [number, number] => [s.from, s.to];
  const indexes: [string, IntervalIndex][] = [
    ["a GC pause", new IntervalIndex(gcs.map(gcSpan))],
    ["a major GC (mark-compact)", new IntervalIndex(gcs.filter((g) => g.kind === "major").map(gcSpan))],
    [`a loop stall > ${stallMs} ms`, new IntervalIndex(stalls.map(stallSpan))],
    ...timelines.map((t): [string, IntervalIndex] => [`  in the ${t.label} proxy`, new IntervalIndex(t.stalls.filter((s) => s.lateMs > stallMs).map(stallSpan))]),
    [`a stall waiting > ${waitedMs} ms for the CPU`, new IntervalIndex(stalls.filter((s) => s.waitedMs > waitedMs).map(stallSpan))],
    ["a stall mostly running (JS/GC)", new IntervalIndex(stalls.filter((s) => s.ranMs >= s.waitedMs).map(stallSpan))],
  ];
  const share = (set: RequestRecord[], test: (r: RequestRecord) => boolean) => (set.length === 0 ? NaN : set.filter(test).length / set.length);
  const hit = (idx: IntervalIndex) => (r: RequestRecord) => idx.overlaps(r.start, r.start + r.ms);
  const causes: Cause[] = indexes.map(([name, idx]) => ({ name, slow: share(slow, hit(idx)), all: share(requests, hit(idx)) }));
  const anyIdx = [indexes[0]?.[1], indexes[2]?.[1]].filter((i): i is IntervalIndex => i !== undefined);
  const none = (r: RequestRecord) => !anyIdx.some((idx) => hit(idx)(r));
  causes.push({ name: "none of these", slow: share(slow, none), all: share(requests, none) });
  return {
    requests: requests.length,
    slowCount,
    slowFromMs: slow.at(-1)?.ms ?? NaN,
    causes,
    proxies: timelines.map((t) => ({
      label: t.label,
      gcs: t.gcs.length,
      majorGcs: t.gcs.filter((g) => g.kind === "major").length,
      gcMaxMs: Math.max(0, ...t.gcs.map((g) => g.ms)),
      stalls: t.stalls.filter((s) => s.lateMs > stallMs).length,
      stallMaxMs: Math.max(0, ...t.stalls.map((s) => s.lateMs)),
      ...(t.loop ? { loop: t.loop } : {}),
    })),
  };
}

const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)} %` : "n/a");

/** The report's lines: "slowest 1 % (N requests >= X ms): a % overlapped a GC pause (b % of all requests), ...". */
export function formatAttribution(a: TailAttribution, pathName: string): string[] {
  const head = `${pathName}, slowest ${a.slowCount} of ${a.requests} requests (>= ${a.slowFromMs.toFixed(2)} ms) overlapped:`;
  const lines = [head, ...a.causes.map((c) => `  ${pct(c.slow).padStart(7)} ${c.name} (all requests: ${pct(c.all)})`)];
  for (const p of a.proxies) {
    const loop = p.loop ? `; loop delay p99 ${p.loop.p99Ms.toFixed(2)} ms, max ${p.loop.maxMs.toFixed(1)} ms` : "";
    lines.push(`  ${p.label} proxy: ${p.gcs} GC pauses (${p.majorGcs} major, longest ${p.gcMaxMs.toFixed(1)} ms), ${p.stalls} stalls (longest ${p.stallMaxMs.toFixed(1)} ms)${loop}`);
  }
  return lines;
}
