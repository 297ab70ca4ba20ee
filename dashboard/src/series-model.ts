// A workload page's charts: the very queries `weft stat` runs (statQueries), evaluated
// by Prometheus at every step of the range, shaped into one value per step. Pure.
import type { PromSeries } from "../../cli/src/prom-access.ts";
import type { StatQuery, Target } from "../../cli/src/prom-queries.ts";
import type { StatRow } from "../../cli/src/prom-rows.ts";
import type { SeriesView } from "./contract.ts";

/** The charted queries (meshed pods and the mTLS share are shown as figures, not charts). */
export const SERIES_QUERIES = ["requests", "success", "p50", "p95", "p99"] as const satisfies readonly StatQuery[];
export type SeriesQuery = (typeof SERIES_QUERIES)[number];

/** The steps of a range ending at `end`: `range` seconds long, every `step`, aligned to the step. */
export function stepsOf(end: number, range: number, step: number): number[] {
  const last = Math.floor(end / step) * step;
  const out: number[] = [];
  for (let t = last - range; t <= last; t += step) out.push(t);
  return out;
}

/** A target's series is the sum of what the answer holds (one group for one named target). */
function valuesAt(series: readonly PromSeries[], steps: readonly number[]): (number | null)[] {
  const at = new Map<number, number>();
  for (const s of series) {
    for (const [t, v] of s.values) {
      const n = Number(v);
      if (!Number.isFinite(n)) continue;
      const key = Math.round(t);
      at.set(key, (at.get(key) ?? 0) + n);
    }
  }
  return steps.map((t) => at.get(t) ?? null);
}

const round = (v: number | null, digits: number): number | null => (v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits);

export function seriesOf(answers: Record<SeriesQuery, readonly PromSeries[]>, steps: readonly number[]): SeriesView {
  const rps = valuesAt(answers.requests, steps);
  const ok = valuesAt(answers.success, steps);
  const ms = (q: "p50" | "p95" | "p99"): (number | null)[] => valuesAt(answers[q], steps).map((v) => round(v === null ? null : v * 1000, 2));
  return {
    t: [...steps],
    rps: rps.map((v) => round(v, 3)),
    // As statRows: no requests, no rate; success beyond the total (two scrapes apart) is capped.
    successRate: rps.map((r, i) => (r === null || r <= 0 ? null : round(Math.min(1, (ok[i] ?? 0) / r), 4))),
    p50Ms: ms("p50"),
    p95Ms: ms("p95"),
    p99Ms: ms("p99"),
  };
}

/**
 * The row of `weft stat`'s rows that is the named target itself: statRows also gives a
 * row to every other pod the namespace's pod list holds (with no traffic of the target's).
 */
export function statRowOf(target: Target, rows: readonly StatRow[]): StatRow | null {
  const name = target.kind === "deployment" ? `deploy/${target.name ?? ""}` : target.kind === "service" ? `svc/${target.name ?? ""}` : (target.name ?? "");
  return rows.find((r) => r.name === name && (target.namespace === undefined || r.namespace === target.namespace)) ?? null;
}
