// The seam between the dashboard's HTTP server and where its figures come from: the
// cluster (data-live.ts: Prometheus, the Kubernetes API, the tap API) or, in the
// browser tests, synthetic data (test/dashboard/synthetic-data.ts).
import type { Target } from "../../cli/src/prom-queries.ts";
import type { GraphView, HealthView, StatView, TapEvent, TapQuery, WorkloadView } from "./contract.ts";

export interface DashboardData {
  graph(window: string, namespaces: readonly string[]): Promise<GraphView>;
  /** `range` seconds of history every `step` seconds, and the figures of now. */
  stat(target: Target, window: string, range: number, step: number): Promise<StatView>;
  workload(namespace: string, workload: string): Promise<WorkloadView>;
  health(): Promise<HealthView>;
  /**
   * Streams the tap's events to `onEvent` until `signal` aborts or the stream ends;
   * rejects with a message fit for the user (forbidden, not found) when it cannot start.
   */
  tap(query: TapQuery, onEvent: (event: TapEvent) => void, signal: AbortSignal): Promise<void>;
}
