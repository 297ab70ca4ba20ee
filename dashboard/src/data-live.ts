// The dashboard's figures from the cluster, through the very functions `weft stat`,
// `weft edges`, `weft proxy-status`, `weft authz` and `weft check` use: the same
// PromQL (prom-queries.ts), the same row shaping (prom-rows.ts), the same gatherers.
// The dashboard's ServiceAccount is what reads them (charts/weft/templates/dashboard.yaml).
import type { KubeConfig } from "@kubernetes/client-node";
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { gatherNamespace, podFacts } from "../../cli/src/authz-gather.ts";
import { workloadAuthz } from "../../cli/src/authz-view.ts";
import { runChecks } from "../../cli/src/check-gather.ts";
import { listPodFacts, type PromRangeQuerier } from "../../cli/src/prom-access.ts";
import { runQueries } from "../../cli/src/prom-command.ts";
import { edgeQueries, statQueries, type Target } from "../../cli/src/prom-queries.ts";
import { edgeRows, statRows } from "../../cli/src/prom-rows.ts";
import { kubeAdminReader } from "../../cli/src/proxy-admin-access.ts";
import { gatherProxyStatus } from "../../cli/src/proxy-status-gather.ts";
import type { PolicyView, RouteView, StatView, WorkloadView } from "./contract.ts";
import type { DashboardData } from "./data-source.ts";
import { graphOf } from "./graph-model.ts";
import { SERIES_QUERIES, seriesOf, statRowOf, stepsOf, type SeriesQuery } from "./series-model.ts";
import { streamTap } from "./tap-relay.ts";

export interface LiveDataOptions {
  kc: KubeConfig;
  prometheus: PromRangeQuerier;
  /** Where the chart installed Weft (weft check, proxy-status's control plane). */
  controlPlaneNamespace: string;
  trustDomain: string;
}

const ALL_WORKLOADS: Target = { kind: "namespace" };
const ROUTE_KINDS = [
  { kind: "HTTPRoute", plural: "httproutes" },
  { kind: "GRPCRoute", plural: "grpcroutes" },
] as const;

function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0]?.slice(0, 200) ?? "";
}

interface RouteObject {
  metadata?: { name?: string; namespace?: string };
  spec?: { parentRefs?: { kind?: string; group?: string; name?: string; namespace?: string }[] };
}

export function liveData(options: LiveDataOptions): DashboardData {
  const { kc, prometheus } = options;

  async function routesFor(namespace: string, services: ReadonlySet<string>, notes: string[]): Promise<RouteView[]> {
    const api = kc.makeApiClient(CustomObjectsApi);
    const out: RouteView[] = [];
    for (const { kind, plural } of ROUTE_KINDS) {
      try {
        const list = (await api.listNamespacedCustomObject({ group: "gateway.networking.k8s.io", version: "v1", namespace, plural })) as { items?: RouteObject[] };
        for (const r of list.items ?? []) {
          const parents = (r.spec?.parentRefs ?? []).filter((p) => p.kind === "Service").map((p) => `${p.namespace ?? namespace}/${p.name ?? ""}`);
          if (parents.some((p) => services.has(p))) out.push({ namespace, name: r.metadata?.name ?? "", kind, parents });
        }
      } catch (err) {
        notes.push(`${plural}: ${messageOf(err)}`);
      }
    }
    return out;
  }

  return {
    async graph(window, namespaces) {
      const [all, succeeded] = await Promise.all([runQueries(prometheus, edgeQueries(window)), runQueries(prometheus, edgeQueries(window, true))]);
      return graphOf(window, edgeRows(ALL_WORKLOADS, all, options.trustDomain), edgeRows(ALL_WORKLOADS, succeeded, options.trustDomain), namespaces);
    },

    async stat(target, window, range, step): Promise<StatView> {
      const queries = statQueries(target, window);
      const now = Date.now() / 1000;
      const steps = stepsOf(now, range, step);
      const first = steps[0] ?? now;
      const last = steps[steps.length - 1] ?? now;
      const [answers, pods, ranged] = await Promise.all([
        runQueries(prometheus, queries, now),
        target.kind === "service" ? Promise.resolve(null) : listPodFacts(kc, target.namespace).catch(() => null),
        Promise.all(SERIES_QUERIES.map(async (q) => [q, await prometheus.queryRange(queries[q], first, last, step)] as const)),
      ]);
      const rows = statRows(target, answers, pods);
      return { window, range, step, now: statRowOf(target, rows), series: seriesOf(Object.fromEntries(ranged) as Record<SeriesQuery, (typeof ranged)[number][1]>, steps) };
    },

    async workload(namespace, workload): Promise<WorkloadView> {
      const notes: string[] = [];
      const podsOfWorkload = (await listPodFacts(kc, namespace)).filter((p) => p.workload === workload || `pod/${p.pod}` === workload);
      const names = new Set(podsOfWorkload.map((p) => p.pod));
      let proxies: WorkloadView["proxies"] = [];
      try {
        const report = await gatherProxyStatus(kc, kubeAdminReader(kc), { namespace, controlPlaneNamespace: options.controlPlaneNamespace });
        proxies = report.proxies.filter((p) => names.has(p.pod));
        if (report.controlPlane.error) notes.push(`control plane: ${report.controlPlane.error}`);
      } catch (err) {
        notes.push(`proxy status: ${messageOf(err)}`);
      }
      const authorization: PolicyView[] = [];
      let routes: RouteView[] = [];
      try {
        const gathered = await gatherNamespace(kc, namespace, options.controlPlaneNamespace);
        notes.push(...gathered.notes);
        const core = kc.makeApiClient(CoreV1Api);
        for (const name of [...names].sort()) {
          const a = workloadAuthz(podFacts(await core.readNamespacedPod({ name, namespace })), gathered.objects);
          authorization.push({ pod: name, defaultPolicy: a.default.policy, policies: a.policies.map((p) => ({ name: p.name, action: p.action, ports: p.ports, rules: p.rules })) });
        }
        const services = new Set<string>();
        for (const slice of gathered.objects.slices) {
          const service = slice.metadata?.labels?.["kubernetes.io/service-name"];
          if (service && (slice.endpoints ?? []).some((e) => e.targetRef?.kind === "Pod" && names.has(e.targetRef.name ?? ""))) services.add(`${namespace}/${service}`);
        }
        routes = await routesFor(namespace, services, notes);
      } catch (err) {
        notes.push(`authorization and routes: ${messageOf(err)}`);
      }
      return { namespace, workload, proxies, authorization, routes, notes };
    },

    async health() {
      return { results: await runChecks(kc, options.controlPlaneNamespace, false, { proxiesRetry: { attempts: 1, intervalMs: 0 } }) };
    },

    tap(query, onEvent, signal) {
      return streamTap(kc, query, onEvent, signal);
    },
  };
}
