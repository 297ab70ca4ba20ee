// Synthetic data behind the dashboard's server for the browser tests: a mesh of any
// size (seeded, so every run draws the same), shaped by the same pure functions as the
// live data (edgeRows' shape into graphOf, seriesOf), and a tap that emits on demand.
import type { EdgeRow, StatRow } from "../../cli/src/prom-rows.ts";
import type { PromSeries } from "../../cli/src/prom-access.ts";
import type { Target } from "../../cli/src/prom-queries.ts";
import type { HealthView, TapEvent, TapQuery, WorkloadView } from "../../dashboard/src/contract.ts";
import type { DashboardData } from "../../dashboard/src/data-source.ts";
import { graphOf } from "../../dashboard/src/graph-model.ts";
import { seriesOf, stepsOf } from "../../dashboard/src/series-model.ts";
import { seededRandom } from "../support/random.ts";

export interface SyntheticMesh {
  data: DashboardData;
  edges: EdgeRow[];
  /** What stat answers for a workload ("ns/deploy/name"). */
  statOf(namespace: string, workload: string): StatRow;
  /** Sends one event to every open tap. */
  emit(event: TapEvent): void;
  /** Taps open now (the test waits for the page's to connect). */
  openTaps(): number;
}

const spiffe = (ns: string, sa: string): string => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

/** `workloads` workloads over `namespaces` namespaces and `edges` distinct edges between them (callers before callees). */
export function syntheticMesh(options: { workloads: number; edges: number; namespaces?: number; seed?: number }): SyntheticMesh {
  const random = seededRandom(options.seed ?? 20);
  const nsCount = options.namespaces ?? Math.max(1, Math.ceil(options.workloads / 20));
  const names = Array.from({ length: options.workloads }, (_, i) => ({ ns: `team-${i % nsCount}`, name: i === 0 ? "client" : i === 1 ? "server" : `svc-${i}` }));
  const rows: EdgeRow[] = [];
  const seen = new Set<string>();
  const add = (a: number, b: number, rps: number, mtls: boolean): void => {
    const src = names[a];
    const dst = names[b];
    if (!src || !dst || seen.has(`${a}>${b}`)) return;
    seen.add(`${a}>${b}`);
    rows.push({ src: `${src.ns}/deploy/${src.name}`, dst: `${dst.ns}/deploy/${dst.name}`, srcIdentity: spiffe(src.ns, src.name), dstIdentity: spiffe(dst.ns, dst.name), rps, mtls });
  };
  add(0, 1, 12.5, true);
  // Callers have lower indices than callees: a call graph, as a mesh mostly is.
  while (rows.length < Math.min(options.edges, (options.workloads * (options.workloads - 1)) / 2)) {
    const a = Math.floor(random() * (options.workloads - 1));
    const b = a + 1 + Math.floor(random() * (options.workloads - a - 1));
    add(a, b, Math.round(random() * 5000) / 100, random() > 0.1);
  }
  // Success: every edge 100% but every seventh at 90%, the client->server edge at 98%.
  const succeeded = rows.map((r, i) => ({ ...r, rps: i === 0 ? r.rps * 0.98 : i % 7 === 6 ? r.rps * 0.9 : r.rps }));
  const taps = new Set<(e: TapEvent) => void>();

  const statOf = (namespace: string, workload: string): StatRow => {
    const inbound = rows.filter((r) => r.dst === `${namespace}/${workload}`);
    const rps = Math.round(inbound.reduce((s, r) => s + r.rps, 0) * 1000) / 1000;
    return { namespace, name: workload, meshedPods: 2, totalPods: 2, rps, successRate: rps > 0 ? 0.98 : null, latencyMs: { p50: 4.2, p95: 18.5, p99: 31 }, tlsShare: rps > 0 ? 1 : null };
  };

  const data: DashboardData = {
    async graph(window, namespaces) {
      return graphOf(window, rows, succeeded, namespaces);
    },
    async stat(target: Target, window, range, step) {
      const now = statOf(target.namespace ?? "", `${target.kind === "deployment" ? "deploy" : target.kind}/${target.name ?? ""}`);
      const steps = stepsOf(Date.now() / 1000, range, step);
      const series = (f: (i: number) => number): PromSeries[] => [{ metric: {}, values: steps.map((t, i) => [t, String(f(i))]) }];
      const wave = (i: number): number => 1 + 0.2 * Math.sin(i / 8);
      return {
        window,
        range,
        step,
        now,
        series: seriesOf({
          requests: series((i) => now.rps * wave(i)),
          success: series((i) => now.rps * wave(i) * 0.98),
          p50: series(() => 0.0042),
          p95: series((i) => 0.0185 * wave(i)),
          p99: series((i) => 0.031 * wave(i)),
        }, steps),
      };
    },
    async workload(namespace, workload): Promise<WorkloadView> {
      const base = workload.replace(/^deploy\//, "");
      return {
        namespace,
        workload,
        proxies: [0, 1].map((i) => ({ namespace, pod: `${base}-7d9f-${i}`, serviceAccount: base, acked: "v12", current: "v12", status: "SYNCED", certExpirySeconds: Math.round(Date.now() / 1000) + 20 * 3600, proxyVersion: "0.1.0", error: null })),
        authorization: [{ pod: `${base}-7d9f-0`, defaultPolicy: "all-authenticated", policies: [{ name: "allow-client", action: "ALLOW", ports: "8080", rules: 1 }] }],
        routes: [{ namespace, name: `${base}-split`, kind: "HTTPRoute", parents: [`${namespace}/${base}`] }],
        notes: [],
      };
    },
    async health(): Promise<HealthView> {
      return { results: [
        { name: "kubernetes-api", ok: true, message: "reachable, v1.35", hint: "" },
        { name: "control-plane", ok: true, message: "1/1 replicas ready", hint: "" },
        { name: "issuer", ok: false, message: "expires in 12 days", hint: "rotate the issuer (docs/identity.md)" },
      ] };
    },
    tap(_query: TapQuery, onEvent, signal) {
      return new Promise<void>((resolve) => {
        taps.add(onEvent);
        signal.addEventListener("abort", () => {
          taps.delete(onEvent);
          resolve();
        });
      });
    },
  };
  return { data, edges: rows, statOf, emit: (e) => taps.forEach((t) => t(e)), openTaps: () => taps.size };
}
