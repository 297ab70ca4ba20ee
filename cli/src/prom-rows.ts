// Prometheus answers (instant vectors from /api/v1/query) into the rows `weft stat`,
// `weft top` and `weft edges` print, and those rows into tables, JSON and YAML.
// Pure: recorded answers in, text out (test/cli/golden/ has such recordings).
import type { OutputFormat } from "./kube-flags.ts";
import { formatOutput, formatTable, msText, percentText, rpsText, type Column } from "./output-format.ts";
import { TOP_LABELS, groupLabels, type EdgeQuery, type StatQuery, type Target, type TopQuery } from "./prom-queries.ts";

/** One sample of an instant vector: its labels and value. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** /api/v1/query's body. */
export interface PromResponse {
  status: string;
  data?: { resultType: string; result: PromSample[] };
  error?: string;
  errorType?: string;
}

/** The samples of an instant-vector answer; throws with Prometheus's own message on an error answer. */
export function vectorOf(response: PromResponse): PromSample[] {
  if (response.status !== "success") throw new Error(`Prometheus refused the query: ${response.errorType ?? ""} ${response.error ?? ""}`.trim());
  if (!response.data) return [];
  if (response.data.resultType !== "vector") throw new Error(`Prometheus answered a ${response.data.resultType}, not a vector`);
  return response.data.result;
}

function num(sample: PromSample): number | null {
  const v = Number(sample.value[1]);
  return Number.isFinite(v) ? v : null;
}

function keyOf(metric: Record<string, string>, labels: readonly string[]): string {
  return labels.map((l) => metric[l] ?? "").join("\u0000");
}

function byKey(samples: readonly PromSample[], labels: readonly string[]): Map<string, number | null> {
  return new Map(samples.map((s) => [keyOf(s.metric, labels), num(s)]));
}

const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;

// ---- stat ----

/** A pod the Kubernetes API listed for the target (total pods; meshed ones are what Prometheus scrapes). */
export interface PodFact {
  namespace: string;
  pod: string;
  /** "deploy/<name>" for a Deployment's pod, else "". */
  workload: string;
}

export interface StatRow {
  namespace: string;
  /** deploy/x, pod name, ns/svc name or namespace: what the rows are grouped by. */
  name: string;
  /** Pods whose proxy Prometheus scrapes; null for a Service (its pods are not in its callers' labels). */
  meshedPods: number | null;
  /** Pods the Kubernetes API lists; null when it was not asked (--prometheus-url without a cluster). */
  totalPods: number | null;
  /** Requests per second over the window. */
  rps: number;
  /** Share of requests that did not fail (not 5xx, not a proxy error, gRPC OK); null with no requests. */
  successRate: number | null;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  /** Share of requests that were mTLS; null with no requests. */
  tlsShare: number | null;
}

export interface StatReport {
  window: string;
  rows: StatRow[];
}

function rowName(target: Target, metric: Record<string, string>): { namespace: string; name: string } {
  switch (target.kind) {
    case "deployment":
      return { namespace: metric.namespace ?? "", name: metric.workload ?? "" };
    case "pod":
      return { namespace: metric.namespace ?? "", name: metric.pod ?? "" };
    case "namespace":
      return { namespace: metric.namespace ?? "", name: metric.namespace ?? "" };
    case "service": {
      const [ns = "", name = ""] = (metric.peer_service ?? "").split("/", 2);
      return { namespace: ns, name: `svc/${name}` };
    }
  }
}

function podGroupMetric(target: Target, pod: PodFact): Record<string, string> | undefined {
  if (target.kind === "deployment" && pod.workload === "") return undefined;
  return { namespace: pod.namespace, workload: pod.workload, pod: pod.pod };
}

/** The rows of `weft stat`, one per group Prometheus or the pod list knows, sorted by namespace and name. */
export function statRows(target: Target, answers: Record<StatQuery, readonly PromSample[]>, pods: readonly PodFact[] | null): StatRow[] {
  const labels = groupLabels(target);
  const metrics = new Map<string, Record<string, string>>();
  for (const q of ["requests", "meshed"] as const) for (const s of answers[q]) metrics.set(keyOf(s.metric, labels), s.metric);
  const totals = new Map<string, number>();
  for (const pod of pods ?? []) {
    const m = podGroupMetric(target, pod);
    if (!m) continue;
    const key = keyOf(m, labels);
    if (!metrics.has(key)) metrics.set(key, m);
    totals.set(key, (totals.get(key) ?? 0) + 1);
  }
  const get = Object.fromEntries(Object.entries(answers).map(([q, v]) => [q, byKey(v, labels)])) as Record<StatQuery, Map<string, number | null>>;
  const ms = (q: "p50" | "p95" | "p99", key: string): number | null => {
    const v = get[q].get(key);
    return v === undefined || v === null ? null : round(v * 1000, 2);
  };
  const rows = [...metrics.entries()].map(([key, metric]): StatRow => {
    const rps = get.requests.get(key) ?? 0;
    const share = (q: "success" | "tls"): number | null => (rps > 0 ? round(Math.min(1, (get[q].get(key) ?? 0) / rps), 4) : null);
    return {
      ...rowName(target, metric),
      meshedPods: target.kind === "service" ? null : (get.meshed.get(key) ?? 0),
      totalPods: pods === null || target.kind === "service" ? null : (totals.get(key) ?? 0),
      rps: round(rps, 3),
      successRate: share("success"),
      latencyMs: { p50: ms("p50", key), p95: ms("p95", key), p99: ms("p99", key) },
      tlsShare: share("tls"),
    };
  });
  return rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}


const STAT_COLUMNS: Column<StatRow>[] = [
  { header: "NAMESPACE", value: (r) => r.namespace },
  { header: "NAME", value: (r) => r.name },
  { header: "MESHED", value: (r) => (r.meshedPods === null ? "-" : r.totalPods === null ? String(r.meshedPods) : `${r.meshedPods}/${r.totalPods}`) },
  { header: "SUCCESS", value: (r) => percentText(r.successRate) },
  { header: "RPS", value: (r) => rpsText(r.rps) },
  { header: "LATENCY_P50", value: (r) => msText(r.latencyMs.p50) },
  { header: "LATENCY_P95", value: (r) => msText(r.latencyMs.p95) },
  { header: "LATENCY_P99", value: (r) => msText(r.latencyMs.p99) },
  { header: "TLS", value: (r) => percentText(r.tlsShare) },
];

export function formatStat(report: StatReport, format: OutputFormat): string {
  return formatOutput(format, report, (wide) => (report.rows.length === 0 ? `No traffic in the last ${report.window}.\n` : formatTable(STAT_COLUMNS, report.rows, wide)));
}

// ---- top ----

export interface TopRow {
  namespace: string;
  workload: string;
  direction: string;
  /** The Service called (outbound) or "" (inbound: the pod's own port). */
  service: string;
  /** The HTTPRoute/GRPCRoute followed ("namespace/name"), or "". */
  route: string;
  rps: number;
  successRate: number | null;
  p95Ms: number | null;
}

export interface TopReport {
  window: string;
  rows: TopRow[];
}

export function topRows(answers: Record<TopQuery, readonly PromSample[]>, limit: number): TopRow[] {
  const success = byKey(answers.success, TOP_LABELS);
  const p95 = byKey(answers.p95, TOP_LABELS);
  const rows = answers.requests.map((s): TopRow => {
    const key = keyOf(s.metric, TOP_LABELS);
    const rps = num(s) ?? 0;
    const q = p95.get(key);
    return {
      namespace: s.metric.namespace ?? "",
      workload: s.metric.workload ?? "",
      direction: s.metric.direction ?? "",
      service: s.metric.peer_service ?? "",
      route: s.metric.route ?? "",
      rps: round(rps, 3),
      successRate: rps > 0 ? round(Math.min(1, (success.get(key) ?? 0) / rps), 4) : null,
      p95Ms: q === undefined || q === null ? null : round(q * 1000, 2),
    };
  });
  return rows
    .filter((r) => r.rps > 0)
    .sort((a, b) => b.rps - a.rps || a.namespace.localeCompare(b.namespace) || a.workload.localeCompare(b.workload) || a.direction.localeCompare(b.direction) || a.service.localeCompare(b.service) || a.route.localeCompare(b.route))
    .slice(0, limit);
}

const TOP_COLUMNS: Column<TopRow>[] = [
  { header: "NAMESPACE", value: (r) => r.namespace },
  { header: "WORKLOAD", value: (r) => r.workload || "-" },
  { header: "DIRECTION", value: (r) => r.direction },
  { header: "SERVICE", value: (r) => r.service || "-" },
  { header: "ROUTE", value: (r) => r.route || "-" },
  { header: "RPS", value: (r) => rpsText(r.rps) },
  { header: "SUCCESS", value: (r) => percentText(r.successRate) },
  { header: "LATENCY_P95", value: (r) => msText(r.p95Ms) },
];

export function formatTop(report: TopReport, format: OutputFormat): string {
  return formatOutput(format, report, (wide) => (report.rows.length === 0 ? `No traffic in the last ${report.window}.\n` : formatTable(TOP_COLUMNS, report.rows, wide)));
}

// ---- edges ----

export interface EdgeRow {
  /** The caller's workload ("namespace/deploy/x"), "" when its proxy is not scraped (or it has none). */
  src: string;
  /** The callee's workload, "" when only the caller's side saw the edge. */
  dst: string;
  /** SPIFFE ids; "" for a plaintext caller, which has none. */
  srcIdentity: string;
  dstIdentity: string;
  rps: number;
  /** Every request on the edge was mTLS. */
  mtls: boolean;
}

export interface EdgesReport {
  window: string;
  rows: EdgeRow[];
}

function spiffe(trustDomain: string, namespace: string | undefined, serviceAccount: string | undefined): string {
  return namespace && serviceAccount ? `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}` : "";
}

function workloadOf(m: Record<string, string>): string {
  if (!m.namespace) return "";
  return `${m.namespace}/${m.workload || m.pod || "?"}`;
}

function touches(target: Target, namespace: string | undefined, workload: string | undefined, pod: string | undefined): boolean {
  if (target.kind === "service") return false;
  if (target.namespace !== undefined && namespace !== target.namespace) return false;
  if (target.kind === "deployment") return target.name === undefined ? (workload ?? "").startsWith("deploy/") : workload === `deploy/${target.name}`;
  if (target.kind === "pod" && target.name !== undefined) return pod === target.name;
  return true;
}

/**
 * The edges touching `target`: callee-side (inbound) series give the callee's workload and
 * the caller's verified identity; caller-side (outbound) series give the caller's workload
 * for the same identity pair. Joined on (caller identity, callee identity).
 */
export function edgeRows(target: Target, answers: Record<EdgeQuery, readonly PromSample[]>, trustDomain: string): EdgeRow[] {
  const pairKey = (m: Record<string, string>): string => keyOf(m, ["src_namespace", "src_service_account", "dst_namespace", "dst_service_account"]);
  const callers = new Map<string, { workloads: Set<string>; rps: number; tls: boolean; metric: Record<string, string> }>();
  for (const s of answers.outbound) {
    if ((num(s) ?? 0) <= 0) continue;
    const key = pairKey(s.metric);
    const c = callers.get(key) ?? { workloads: new Set<string>(), rps: 0, tls: true, metric: s.metric };
    c.workloads.add(workloadOf(s.metric));
    c.rps += num(s) ?? 0;
    c.tls &&= s.metric.tls === "true";
    c.metric = s.metric;
    callers.set(key, c);
  }
  const rows = new Map<string, EdgeRow & { hit: boolean }>();
  const seenPairs = new Set<string>();
  for (const s of answers.inbound) {
    const rps = num(s) ?? 0;
    if (rps <= 0) continue;
    const m = s.metric;
    const pk = pairKey(m);
    const caller = m.src_service_account ? callers.get(pk) : undefined;
    if (caller) seenPairs.add(pk);
    const srcWorkloads = caller ? [...caller.workloads].sort() : [""];
    const dst = workloadOf(m);
    for (const src of srcWorkloads) {
      const key = `${src}\u0000${dst}\u0000${pk}`;
      const row = rows.get(key) ?? { src, dst, srcIdentity: spiffe(trustDomain, m.src_namespace, m.src_service_account), dstIdentity: spiffe(trustDomain, m.dst_namespace, m.dst_service_account), rps: 0, mtls: true, hit: false };
      row.rps += rps / srcWorkloads.length;
      row.mtls &&= m.tls === "true";
      const [srcNs, ...srcRest] = src.split("/");
      row.hit ||= touches(target, m.namespace, m.workload, m.pod) || touches(target, srcNs, srcRest.join("/"), undefined);
      rows.set(key, row);
    }
  }
  // Edges only the caller saw: the callee's proxy is not scraped.
  for (const [pk, c] of callers) {
    if (seenPairs.has(pk)) continue;
    for (const src of c.workloads) {
      const m = c.metric;
      const [srcNs, ...srcRest] = src.split("/");
      rows.set(`${src}\u0000\u0000${pk}`, { src, dst: "", srcIdentity: spiffe(trustDomain, m.src_namespace, m.src_service_account), dstIdentity: spiffe(trustDomain, m.dst_namespace, m.dst_service_account), rps: c.rps / c.workloads.size, mtls: c.tls, hit: touches(target, srcNs, srcRest.join("/"), undefined) });
    }
  }
  return [...rows.values()]
    .filter((r) => r.hit)
    .map(({ hit: _hit, ...r }) => ({ ...r, rps: round(r.rps, 3) }))
    .sort((a, b) => a.src.localeCompare(b.src) || a.dst.localeCompare(b.dst) || a.srcIdentity.localeCompare(b.srcIdentity) || a.dstIdentity.localeCompare(b.dstIdentity));
}

const EDGE_COLUMNS: Column<EdgeRow>[] = [
  { header: "SRC", value: (r) => r.src || "-" },
  { header: "DST", value: (r) => r.dst || "-" },
  { header: "SRC_IDENTITY", value: (r) => r.srcIdentity || "(plaintext)" },
  { header: "DST_IDENTITY", value: (r) => r.dstIdentity || "-" },
  { header: "RPS", value: (r) => rpsText(r.rps), wide: true },
  { header: "MTLS", value: (r) => (r.mtls ? "yes" : "no") },
];

export function formatEdges(report: EdgesReport, format: OutputFormat): string {
  return formatOutput(format, report, (wide) => (report.rows.length === 0 ? `No edges in the last ${report.window}.\n` : formatTable(EDGE_COLUMNS, report.rows, wide)));
}
