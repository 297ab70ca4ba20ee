// `weft top`'s per-path view: the tap events of the last window, grouped by
// direction, caller, callee, method and path, busiest first. Paths are never
// metric labels (their number is unbounded), so this view is built from the
// tap stream, which the proxies sample at most --max-rps a second each: its
// counts and rates are of the sampled events. Pure: events and times in, rows out.
import type { TapEvent } from "../../lib/tap-contract.ts";
import { formatOutput, formatTable, msText, percentText, rpsText, type Column } from "./output-format.ts";
import type { OutputFormat } from "./kube-flags.ts";
import { shortIdentity } from "./tap-format.ts";

export interface PathRow {
  direction: TapEvent["direction"];
  /** SPIFFE ids, "" when unknown (plaintext caller, unmeshed callee). */
  source: string;
  destination: string;
  /** Outbound: the Service called ("namespace/name"). */
  service: string;
  method: string;
  path: string;
  requests: number;
  rps: number;
  /** Share 0–1 of requests that were neither 5xx, a gRPC error nor a proxy error. */
  successRate: number;
  latencyMs: { p50: number; p95: number; max: number };
  /** Wall-clock ms of the newest request in the group. */
  lastSeen: number;
}

export interface TopPathsReport {
  windowSeconds: number;
  /** The per-proxy sampling ceiling the tap asked for: counts are of sampled requests. */
  sampledAtMostRps: number;
  rows: PathRow[];
}

interface Sample {
  at: number;
  latencyMs: number;
  ok: boolean;
}

interface Group {
  key: Omit<PathRow, "requests" | "rps" | "successRate" | "latencyMs" | "lastSeen">;
  samples: Sample[];
  lastSeen: number;
}

/** The same success rule as `weft stat`'s queries: not 5xx, no proxy error, gRPC status absent or 0. */
export function succeeded(e: TapEvent): boolean {
  return e.status < 500 && e.error === undefined && (e.grpcStatus === undefined || e.grpcStatus === 0);
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

/**
 * A sliding window of tap events. Bounded: at most `maxGroups` groups (the
 * least recently seen go first) and `maxSamplesPerGroup` samples in each.
 */
export class PathWindow {
  readonly #groups = new Map<string, Group>();
  readonly #windowMs: number;
  readonly #maxGroups: number;
  readonly #maxSamples: number;

  constructor(windowMs: number, limits: { maxGroups?: number; maxSamplesPerGroup?: number } = {}) {
    this.#windowMs = windowMs;
    this.#maxGroups = limits.maxGroups ?? 2000;
    this.#maxSamples = limits.maxSamplesPerGroup ?? 5000;
  }

  /** `at`: when the event arrived, on the same clock as rows()'s `now`. */
  add(e: TapEvent, at: number): void {
    const key = { direction: e.direction, source: e.source, destination: e.destination, service: e.service ?? "", method: e.method, path: e.path };
    const id = JSON.stringify(key);
    let g = this.#groups.get(id);
    if (g) this.#groups.delete(id);
    else g = { key, samples: [], lastSeen: at };
    // Re-inserted last: the Map's order is least recently seen first.
    this.#groups.set(id, g);
    g.lastSeen = Math.max(g.lastSeen, e.ts);
    g.samples.push({ at, latencyMs: e.latencyMs, ok: succeeded(e) });
    if (g.samples.length > this.#maxSamples) g.samples.shift();
    while (this.#groups.size > this.#maxGroups) {
      const oldest = this.#groups.keys().next().value;
      if (oldest === undefined) break;
      this.#groups.delete(oldest);
    }
  }

  /** The busiest `limit` groups of the window ending at `now`, by requests, then path. */
  rows(now: number, limit: number): PathRow[] {
    const from = now - this.#windowMs;
    const rows: PathRow[] = [];
    for (const [id, g] of this.#groups) {
      const firstInWindow = g.samples.findIndex((s) => s.at > from);
      if (firstInWindow < 0) {
        this.#groups.delete(id);
        continue;
      }
      if (firstInWindow > 0) g.samples.splice(0, firstInWindow);
      const latencies = g.samples.map((s) => s.latencyMs).sort((a, b) => a - b);
      rows.push({
        ...g.key,
        requests: g.samples.length,
        rps: g.samples.length / (this.#windowMs / 1000),
        successRate: g.samples.filter((s) => s.ok).length / g.samples.length,
        latencyMs: { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95), max: latencies[latencies.length - 1] ?? 0 },
        lastSeen: g.lastSeen,
      });
    }
    return rows.sort((a, b) => b.requests - a.requests || a.path.localeCompare(b.path) || a.method.localeCompare(b.method) || a.direction.localeCompare(b.direction)).slice(0, limit);
  }
}

const COLUMNS: Column<PathRow>[] = [
  { header: "DIR", value: (r) => (r.direction === "inbound" ? "in" : "out") },
  { header: "FROM", value: (r) => shortIdentity(r.source) },
  { header: "TO", value: (r) => (r.direction === "outbound" && r.service ? r.service : shortIdentity(r.destination)) },
  { header: "DESTINATION", wide: true, value: (r) => shortIdentity(r.destination) },
  { header: "METHOD", value: (r) => r.method },
  { header: "PATH", value: (r) => r.path },
  { header: "COUNT", value: (r) => String(r.requests) },
  { header: "RPS", value: (r) => rpsText(r.rps) },
  { header: "SUCCESS", value: (r) => percentText(r.successRate) },
  { header: "LATENCY_P50", value: (r) => msText(r.latencyMs.p50) },
  { header: "LATENCY_P95", value: (r) => msText(r.latencyMs.p95) },
  { header: "LATENCY_MAX", wide: true, value: (r) => msText(r.latencyMs.max) },
];

export function formatTopPaths(report: TopPathsReport, format: OutputFormat): string {
  return formatOutput(format, report, (wide) =>
    report.rows.length === 0 ? `No requests seen in the last ${report.windowSeconds}s.\n` : formatTable(COLUMNS, report.rows, wide));
}
