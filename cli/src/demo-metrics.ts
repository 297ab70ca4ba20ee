// Turns the sidecars' metrics (read by metrics-text.ts) into per-edge figures:
// requests per second, success rate, latency percentiles and retries between
// two scrapes. Pure: samples in, numbers out.
import type { Sample } from "./metrics-text.ts";

/** Cumulative counters of one edge (a caller's outbound traffic to one service). */
export interface EdgeCounters {
  requests: number;
  successes: number;
  retries: number;
  /** Histogram buckets: upper bound (seconds) -> cumulative count. */
  buckets: Map<number, number>;
}

export function edgeCounters(samples: Sample[], peerService: string): EdgeCounters {
  const c: EdgeCounters = { requests: 0, successes: 0, retries: 0, buckets: new Map() };
  for (const s of samples) {
    if (s.labels.peer_service !== peerService) continue;
    if (s.name === "weft_proxy_requests_total" && s.labels.direction === "outbound") {
      c.requests += s.value;
      const grpc = s.labels.grpc_status ?? "";
      if (s.labels.status_class === "2xx" && (grpc === "" || grpc === "0")) c.successes += s.value;
    } else if (s.name === "weft_proxy_retries_total") c.retries += s.value;
    else if (s.name === "weft_proxy_request_duration_seconds_bucket" && s.labels.direction === "outbound") {
      const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
      c.buckets.set(le, (c.buckets.get(le) ?? 0) + s.value);
    }
  }
  return c;
}

export function subtract(now: EdgeCounters, before: EdgeCounters | undefined): EdgeCounters {
  if (!before) return now;
  const buckets = new Map<number, number>();
  for (const [le, n] of now.buckets) buckets.set(le, Math.max(0, n - (before.buckets.get(le) ?? 0)));
  return {
    requests: Math.max(0, now.requests - before.requests),
    successes: Math.max(0, now.successes - before.successes),
    retries: Math.max(0, now.retries - before.retries),
    buckets,
  };
}

/** Percentile (0..1) from cumulative buckets, interpolated inside the bucket; undefined without data. */
export function percentileMs(buckets: Map<number, number>, q: number): number | undefined {
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (le === Infinity) return prevLe * 1000;
      const within = count === prevCount ? 0 : (rank - prevCount) / (count - prevCount);
      return (prevLe + (le - prevLe) * within) * 1000;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe * 1000;
}

export interface EdgeView {
  from: string;
  to: string;
  rps: number;
  successRate: number | undefined;
  p50: number | undefined;
  p95: number | undefined;
  p99: number | undefined;
  retries: number;
  mtls: boolean;
  clientId: string;
  serverId: string;
}

export function edgeView(from: string, to: string, delta: EdgeCounters, seconds: number, ids: { mtls: boolean; clientId: string; serverId: string }): EdgeView {
  return {
    from,
    to,
    rps: delta.requests / seconds,
    successRate: delta.requests > 0 ? delta.successes / delta.requests : undefined,
    p50: percentileMs(delta.buckets, 0.5),
    p95: percentileMs(delta.buckets, 0.95),
    p99: percentileMs(delta.buckets, 0.99),
    retries: delta.retries,
    ...ids,
  };
}
