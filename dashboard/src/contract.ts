// What the dashboard's server answers and its browser app reads: the JSON of every
// /api/ endpoint. Types only, so the browser bundle and the server share them without
// pulling server code into the page.
import type { StatRow } from "../../cli/src/prom-rows.ts";
import type { ProxyStatusRow } from "../../cli/src/proxy-status-rows.ts";
import type { CheckResult } from "../../cli/src/check-results.ts";
import type { TapEvent } from "../../lib/tap-contract.ts";

export type { StatRow, ProxyStatusRow, CheckResult, TapEvent };

/** A workload on the graph: "namespace/deploy/name" (as `weft edges` names it), or an unmeshed caller. */
export interface GraphNode {
  id: string;
  namespace: string;
  /** "deploy/name", or "(plaintext)" / "(unscraped)" for an end Prometheus does not see. */
  name: string;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  /** Requests per second over the window. */
  rps: number;
  /** Share of requests that succeeded; null with no requests. */
  successRate: number | null;
  /** Every request on the edge was mTLS. */
  mtls: boolean;
}

export interface GraphView {
  window: string;
  /** Every namespace with a node, for the filter. */
  namespaces: string[];
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** What a workload page charts: one value per step, null where Prometheus had none. */
export interface SeriesView {
  /** Unix seconds of each step. */
  t: number[];
  rps: (number | null)[];
  successRate: (number | null)[];
  p50Ms: (number | null)[];
  p95Ms: (number | null)[];
  p99Ms: (number | null)[];
}

/** GET /api/stat/:namespace/:kind/:name: the figures `weft stat -o json` prints now, and their history. */
export interface StatView {
  window: string;
  /** The history's span and step, seconds. */
  range: number;
  step: number;
  /** The row `weft stat` prints for this target (null: no traffic and no pods). */
  now: StatRow | null;
  series: SeriesView;
}

export interface PolicyView {
  pod: string;
  defaultPolicy: string;
  policies: { name: string; action: string; ports: string; rules: number }[];
}

export interface RouteView {
  namespace: string;
  name: string;
  kind: string;
  /** The Services it is attached to ("namespace/name"). */
  parents: string[];
}

/** GET /api/workload/:namespace/:kind/:name: its pods and what applies to them. */
export interface WorkloadView {
  namespace: string;
  workload: string;
  /** Meshed pods with proxy versions, sync state and certificate expiry (as `weft proxy-status`). */
  proxies: ProxyStatusRow[];
  /** Authorization as `weft authz` reads it, per pod. */
  authorization: PolicyView[];
  /** Routes whose parent is a Service in front of the workload's pods. */
  routes: RouteView[];
  /** What could not be read. */
  notes: string[];
}

export interface HealthView {
  results: CheckResult[];
}

/** GET /api/config: what the page needs before anything else. */
export interface DashboardConfig {
  /** The default window for rates (a PromQL duration). */
  window: string;
  /** Jaeger's UI, "" when none is configured: tap rows with a trace link to <jaegerUrl>/trace/<id>. */
  jaegerUrl: string;
}

/** The tap filters the page sends (as `weft tap`'s flags). */
export interface TapQuery {
  /** pod/NAME, deploy/NAME, svc/NAME or ns/NAME. */
  resource: string;
  namespace: string;
  to?: string;
  method?: string;
  path?: string;
  maxRps?: number;
}
