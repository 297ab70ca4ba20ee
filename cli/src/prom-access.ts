// How `weft stat`, `top` and `edges` reach Prometheus and the pods they count: the
// chart's Prometheus Service through the apiserver (services/proxy, with the user's own
// RBAC: `get services/proxy` in its namespace), or the operator's own Prometheus at
// --prometheus-url. The I/O edge; prom-queries.ts and prom-rows.ts are pure.
import * as http from "node:http";
import * as https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { CoreV1Api } from "@kubernetes/client-node";
import { isRunning } from "./kube-pods.ts";
import type { PodFact, PromResponse, PromSample } from "./prom-rows.ts";
import { vectorOf } from "./prom-rows.ts";

const TIMEOUT_MS = 15_000;

export interface PromQuerier {
  /**
   * An instant query's vector, evaluated at `time` (Unix seconds; Prometheus's "now" when
   * undefined); "" (a query that does not apply) answers no samples.
   */
  query(promql: string, time?: number): Promise<PromSample[]>;
}

/** One series of a range answer (/api/v1/query_range): its labels and [time, value] pairs. */
export interface PromSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

/** A querier that also answers range queries (the dashboard's charts: the same PromQL, evaluated at every step). */
export interface PromRangeQuerier extends PromQuerier {
  /** The series of `promql` from `start` to `end` (Unix seconds) every `step` seconds; "" answers none. */
  queryRange(promql: string, start: number, end: number, step: number): Promise<PromSeries[]>;
}

function get(url: URL, options: https.RequestOptions): Promise<{ status: number; body: string }> {
  const lib = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { ...options, method: "GET", timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url.host} in ${TIMEOUT_MS / 1000}s`)));
    req.on("error", reject);
    req.end();
  });
}

/**
 * Prometheus's answer, or why there is none: the apiserver's refusal (a Status with its
 * message), no Prometheus behind the Service, or Prometheus's own error. Pure.
 */
export function parseAnswer(status: number, body: string, where: string): PromSample[] {
  let parsed: { status?: unknown; message?: unknown } | undefined;
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const apiMessage = typeof parsed?.message === "string" ? parsed.message : body.trim().slice(0, 200);
  if (status === 401 || status === 403) throw new Error(`forbidden: ${apiMessage} (reading ${where} needs get services/proxy there, or --prometheus-url; see docs/cli.md)`);
  if (parsed?.status === "success" || parsed?.status === "error") return vectorOf(parsed as PromResponse);
  if (status === 404 || status === 503) throw new Error(`no Prometheus at ${where} (answered ${status}: ${apiMessage}); install the chart with prometheus.enabled=true or pass --prometheus-url`);
  throw new Error(`${where} answered ${status}: ${apiMessage}`);
}

/** A range answer's series, or why there is none (as parseAnswer). Pure. */
export function parseRangeAnswer(status: number, body: string, where: string): PromSeries[] {
  let parsed: { status?: unknown; data?: { resultType?: unknown; result?: unknown }; error?: unknown } | undefined;
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  if (parsed?.status === "success" && parsed.data?.resultType === "matrix" && Array.isArray(parsed.data.result)) return parsed.data.result as PromSeries[];
  if (parsed?.status === "success") throw new Error(`${where} answered a ${String(parsed.data?.resultType)}, not a matrix`);
  // Every other answer is explained as an instant query's would be.
  parseAnswer(status, body, where);
  throw new Error(`${where} answered ${status} without a matrix`);
}

function querier(base: URL, options: () => Promise<https.RequestOptions>, where: string): PromRangeQuerier {
  return {
    async queryRange(promql, start, end, step) {
      if (promql === "") return [];
      const url = new URL(`${base.pathname.replace(/\/$/, "")}/api/v1/query_range`, base);
      url.searchParams.set("query", promql);
      url.searchParams.set("start", start.toFixed(3));
      url.searchParams.set("end", end.toFixed(3));
      url.searchParams.set("step", String(step));
      const { status, body } = await get(url, await options());
      return parseRangeAnswer(status, body, where);
    },
    async query(promql, time) {
      if (promql === "") return [];
      const url = new URL(`${base.pathname.replace(/\/$/, "")}/api/v1/query`, base);
      url.searchParams.set("query", promql);
      if (time !== undefined) url.searchParams.set("time", time.toFixed(3));
      const { status, body } = await get(url, await options());
      return parseAnswer(status, body, where);
    },
  };
}

/** The operator's own Prometheus (or any reachable one): --prometheus-url. */
export function urlQuerier(prometheusUrl: string): PromRangeQuerier {
  return querier(new URL(prometheusUrl), () => Promise.resolve({}), prometheusUrl);
}

/** The chart's Prometheus Service, through the apiserver's services/proxy. */
export function serviceQuerier(kc: KubeConfig, namespace: string, service: string, port: string): PromRangeQuerier {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const base = new URL(`${cluster.server.replace(/\/$/, "")}/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(`${service}:${port}`)}/proxy/`);
  return querier(
    base,
    async () => {
      const options: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(options);
      return options;
    },
    `service ${namespace}/${service}:${port}`,
  );
}

/** "deploy/<name>" for a pod of a Deployment (its ReplicaSet's name less the pod-template hash), else "". */
export function workloadOfPod(owner: { kind?: string; name?: string } | undefined, templateHash: string | undefined): string {
  if (owner?.kind !== "ReplicaSet" || !owner.name) return "";
  if (templateHash && owner.name.endsWith(`-${templateHash}`)) return `deploy/${owner.name.slice(0, -templateHash.length - 1)}`;
  return `deploy/${owner.name.replace(/-[a-z0-9]+$/, "")}`;
}

/** Running pods in `namespace` (every one when undefined), as stat counts them. */
export async function listPodFacts(kc: KubeConfig, namespace: string | undefined): Promise<PodFact[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const list = namespace === undefined ? await core.listPodForAllNamespaces() : await core.listNamespacedPod({ namespace });
  return list.items.filter(isRunning).map((pod) => ({
    namespace: pod.metadata?.namespace ?? "",
    pod: pod.metadata?.name ?? "",
    workload: workloadOfPod(pod.metadata?.ownerReferences?.find((o) => o.controller === true), pod.metadata?.labels?.["pod-template-hash"]),
  }));
}
