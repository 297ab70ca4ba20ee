// The I/O edge of `weft proxy-status`: lists meshed pods, reads each proxy's
// /metrics and each control-plane replica's /metrics over pods/proxy (the
// user's RBAC: list pods, get pods/proxy), and hands the facts to the pure
// proxy-status-rows.ts.
import type { KubeConfig, V1Pod } from "@kubernetes/client-node";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { LABELS } from "../../lib/proxy-contract.ts";
import { PROXY_VERSIONS_METRIC } from "../../control-plane/src/discovery-status-metrics.ts";
import { adminPortOf, isRunning, proxyContainer, proxyVersionOf } from "./kube-pods.ts";
import { parseMetricsText } from "./metrics-text.ts";
import type { AdminReader } from "./proxy-admin-access.ts";
import { proxyStatusRows, type ProxyFact, type ProxyStatusReport, type StreamFact } from "./proxy-status-rows.ts";

/** Read this many at a time, so a large mesh does not flood the apiserver. */
const CONCURRENCY = 8;

function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0]?.slice(0, 200) ?? "";
}

export function proxyFactFromMetrics(pod: V1Pod, text: string): ProxyFact {
  const samples = parseMetricsText(text);
  const info = samples.find((s) => s.name === "weft_proxy_snapshot_info" && s.value === 1);
  const expiry = samples.find((s) => s.name === "weft_proxy_certificate_expiry_seconds");
  return { ...podBase(pod), metrics: { snapshotVersion: info?.labels.version ?? null, certExpirySeconds: expiry ? Math.round(expiry.value) : null } };
}

export function streamFactsFromMetrics(text: string): StreamFact[] {
  return parseMetricsText(text)
    .filter((s) => s.name === PROXY_VERSIONS_METRIC)
    .map((s) => ({ namespace: s.labels.namespace ?? "", serviceAccount: s.labels.service_account ?? "", acked: s.labels.acked ?? "", current: s.labels.current ?? "", streams: s.value }));
}

function podBase(pod: V1Pod): Omit<ProxyFact, "metrics"> {
  return { namespace: pod.metadata?.namespace ?? "", pod: pod.metadata?.name ?? "", serviceAccount: pod.spec?.serviceAccountName ?? "default", proxyVersion: proxyVersionOf(pod) };
}

async function controlPlaneStreams(kc: KubeConfig, reader: AdminReader, ns: string): Promise<StreamFact[] | Error> {
  try {
    const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: "weft-control-plane", namespace: ns });
    const labelSelector = Object.entries(d.spec?.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(",");
    const pods = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns, labelSelector })).items.filter(isRunning);
    if (pods.length === 0) return new Error("no running control-plane pod");
    const out: StreamFact[] = [];
    // Every replica: each proxy streams from just one of them.
    for (const pod of pods) {
      const c = pod.spec?.containers.find((x) => x.name === "control-plane");
      const port = c?.ports?.find((p) => p.name === "admin")?.containerPort;
      if (port === undefined) return new Error(`control-plane pod ${pod.metadata?.name ?? ""} has no port named admin`);
      out.push(...streamFactsFromMetrics(await reader.proxyGet(ns, pod.metadata?.name ?? "", port, "/metrics")));
    }
    return out;
  } catch (err) {
    return new Error(messageOf(err));
  }
}

export async function gatherProxyStatus(kc: KubeConfig, reader: AdminReader, options: { namespace?: string; controlPlaneNamespace: string }): Promise<ProxyStatusReport> {
  const core = kc.makeApiClient(CoreV1Api);
  const list = options.namespace === undefined
    ? await core.listPodForAllNamespaces({ labelSelector: LABELS.meshed })
    : await core.listNamespacedPod({ namespace: options.namespace, labelSelector: LABELS.meshed });
  const pods = list.items.filter((p) => isRunning(p) && proxyContainer(p) !== undefined);
  const facts: ProxyFact[] = [];
  for (let i = 0; i < pods.length; i += CONCURRENCY) {
    facts.push(...(await Promise.all(pods.slice(i, i + CONCURRENCY).map(async (pod) => {
      try {
        return proxyFactFromMetrics(pod, await reader.proxyGet(pod.metadata?.namespace ?? "", pod.metadata?.name ?? "", adminPortOf(pod), "/metrics"));
      } catch (err) {
        return { ...podBase(pod), metrics: { error: messageOf(err) } };
      }
    }))));
  }
  const streams = await controlPlaneStreams(kc, reader, options.controlPlaneNamespace);
  return {
    controlPlane: { namespace: options.controlPlaneNamespace, error: streams instanceof Error ? streams.message : null },
    proxies: proxyStatusRows(facts, streams instanceof Error ? null : streams),
  };
}
