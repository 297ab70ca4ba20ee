// The proxy's per-request metrics (weft_proxy_requests_total and
// weft_proxy_request_duration_seconds), counted in plain numbers per series and
// handed to prom-client only when something reads the registry. prom-client
// builds, validates and hashes a label object on every inc() and observe(),
// even through a labels() child; on the proxy's path that was 5-7 % of each
// proxy's CPU (docs/benchmarks.md, "the per-request metrics"). A request now
// costs one Map lookup and a few additions.
//
// The counter keeps prom-client's own Counter, fed the counts not yet added
// through its public collect hook. A histogram's buckets cannot be added to
// through prom-client's API, so the duration family is a Histogram whose reads
// answer from this table instead of from prom-client's per-observation state.
import { Histogram, type Counter } from "prom-client";

export type RequestCounterLabel = "direction" | "peer_service" | "status_class" | "grpc_status" | "route" | "src_namespace" | "src_service_account" | "dst_namespace" | "dst_service_account" | "tls";
export type RequestDurationLabel = Exclude<RequestCounterLabel, "status_class" | "grpc_status">;

/** One duration series: observations per bucket (not cumulative), their count and sum. */
interface DurationSeries {
  readonly labels: Readonly<Record<RequestDurationLabel, string>>;
  readonly buckets: Float64Array;
  count: number;
  sum: number;
}

/** What a request is counted by, as the proxy knows it (identities as SPIFFE ids; the labels are derived once per series). */
export interface RequestKey {
  direction: string;
  peerService: string;
  statusClass: string;
  grpcStatus: number | undefined;
  route: string;
  src: string;
  dst: string;
  tls: boolean;
}

/** One counter series, and the duration series its requests are timed in (a counter series also splits by status). */
export interface RequestSeries {
  readonly key: Readonly<RequestKey>;
  readonly labels: Readonly<Record<RequestCounterLabel, string>>;
  readonly duration: DurationSeries;
  count: number;
  /** What has been added to prom-client's Counter so far. */
  added: number;
}

function sameKey(a: Readonly<RequestKey>, b: RequestKey): boolean {
  return a.statusClass === b.statusClass && a.peerService === b.peerService && a.grpcStatus === b.grpcStatus && a.route === b.route && a.src === b.src && a.dst === b.dst && a.tls === b.tls && a.direction === b.direction;
}

/**
 * The series of one proxy, by the key the caller builds from its label values.
 * Bounded as the labels are: by directions, Services, routes and identities,
 * never by requests.
 */
export class RequestSeriesTable {
  readonly upperBounds: readonly number[];
  readonly #series = new Map<string, RequestSeries>();
  readonly #durations = new Map<string, DurationSeries>();
  /**
   * The last series found, inbound and outbound: a proxy's requests mostly repeat the previous one's
   * series, and comparing eight values is cheaper than building and hashing the key.
   */
  #lastInbound: RequestSeries | undefined;
  #lastOutbound: RequestSeries | undefined;

  constructor(upperBounds: readonly number[]) {
    this.upperBounds = [...upperBounds].sort((a, b) => a - b);
  }

  /** The series of a request like `k`, made with `labelsOf(k)` the first time. `k` is copied, never kept. */
  find(k: RequestKey, labelsOf: (k: RequestKey) => Record<RequestCounterLabel, string>): RequestSeries {
    const inbound = k.direction === "inbound";
    const last = inbound ? this.#lastInbound : this.#lastOutbound;
    if (last && sameKey(last.key, k)) return last;
    const key = `${k.direction}\u0000${k.peerService}\u0000${k.statusClass}\u0000${k.grpcStatus ?? ""}\u0000${k.route}\u0000${k.src}\u0000${k.dst}\u0000${k.tls ? "1" : "0"}`;
    const series = this.#series.get(key) ?? this.#add(key, { ...k }, labelsOf(k));
    if (inbound) this.#lastInbound = series;
    else this.#lastOutbound = series;
    return series;
  }

  /** A new series (the first request with these labels); its duration series is shared with the other status classes. */
  #add(key: string, requestKey: RequestKey, labels: Readonly<Record<RequestCounterLabel, string>>): RequestSeries {
    const { status_class: _status, grpc_status: _grpc, ...durationLabels } = labels;
    const durationKey = [durationLabels.direction, durationLabels.peer_service, durationLabels.route, durationLabels.src_namespace, durationLabels.src_service_account, durationLabels.dst_namespace, durationLabels.dst_service_account, durationLabels.tls].join("\u0000");
    let duration = this.#durations.get(durationKey);
    if (!duration) {
      duration = { labels: durationLabels, buckets: new Float64Array(this.upperBounds.length), count: 0, sum: 0 };
      this.#durations.set(durationKey, duration);
    }
    const series: RequestSeries = { key: requestKey, labels, duration, count: 0, added: 0 };
    this.#series.set(key, series);
    return series;
  }

  /** One finished request of `series`, `seconds` long. */
  record(series: RequestSeries, seconds: number): void {
    series.count++;
    const d = series.duration;
    d.count++;
    d.sum += seconds;
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= (bounds[i] as number)) {
        (d.buckets as Float64Array)[i] = (d.buckets[i] as number) + 1;
        return;
      }
    }
  }

  /** Adds what each series counted since the last call to `counter` (prom-client's collect hook). */
  addCountsTo(counter: Counter<RequestCounterLabel>): void {
    for (const s of this.#series.values()) {
      if (s.count === s.added) continue;
      counter.inc(s.labels, s.count - s.added);
      s.added = s.count;
    }
  }

  /**
   * The duration family's samples in the form prom-client's Histogram hands its registry: per series, the
   * cumulative `le` buckets, `+Inf`, `_sum` and `_count`, each with the series' labels as `sharedLabels`.
   */
  durationSamples(name: string): HistogramSample[] {
    const samples: HistogramSample[] = [];
    const bucketName = `${name}_bucket`;
    for (const d of this.#durations.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.upperBounds.length; i++) {
        cumulative += d.buckets[i] as number;
        samples.push({ metricName: bucketName, labels: { le: this.upperBounds[i] as number }, sharedLabels: d.labels, value: cumulative });
      }
      samples.push({ metricName: bucketName, labels: { le: "+Inf" }, sharedLabels: d.labels, value: d.count });
      samples.push({ metricName: `${name}_sum`, labels: {}, sharedLabels: d.labels, value: d.sum });
      samples.push({ metricName: `${name}_count`, labels: {}, sharedLabels: d.labels, value: d.count });
    }
    return samples;
  }

  clear(): void {
    this.#series.clear();
    this.#durations.clear();
    this.#lastInbound = this.#lastOutbound = undefined;
  }
}

/** One sample as prom-client's Histogram passes it to the registry (lib/histogram.js), before get() merges the two label sets. */
export interface HistogramSample {
  metricName: string;
  labels: { le?: number | string };
  sharedLabels: Readonly<Record<RequestDurationLabel, string>>;
  value: number;
}

/**
 * weft_proxy_request_duration_seconds: a prom-client Histogram, so that the
 * registry, its text and JSON forms and the inherited get() treat it as any
 * other, whose samples come from the table. prom-client's Histogram hands its
 * samples to both through getForPromString() (the registry calls it for the
 * text form, get() for the JSON form), which this answers. Observations go to
 * the table (RequestSeriesTable.record); observe() refuses, so none is lost
 * unseen.
 */
export class RequestDurationHistogram extends Histogram<RequestDurationLabel> {
  readonly #table: RequestSeriesTable;
  readonly #name: string;
  readonly #help: string;

  constructor(config: { name: string; help: string; registers: NonNullable<ConstructorParameters<typeof Histogram>[0]["registers"]> }, table: RequestSeriesTable) {
    super({ ...config, labelNames: ["direction", "peer_service", "route", "src_namespace", "src_service_account", "dst_namespace", "dst_service_account", "tls"], buckets: [...table.upperBounds] });
    this.#table = table;
    this.#name = config.name;
    this.#help = config.help;
    // prom-client's constructor sets observe on the instance, so a method here would not replace it.
    this.observe = (): never => {
      throw new Error(`${config.name} is recorded through its RequestSeriesTable, not observe()`);
    };
  }

  async getForPromString(): Promise<{ name: string; help: string; type: "histogram"; aggregator: "sum"; values: HistogramSample[] }> {
    return { name: this.#name, help: this.#help, type: "histogram", aggregator: "sum", values: this.#table.durationSamples(this.#name) };
  }

  /** Clears the table's series (prom-client's Registry.resetMetrics); the base constructor calls it before the table is set. */
  override reset(): void {
    if (#table in this) this.#table.clear();
  }
}
