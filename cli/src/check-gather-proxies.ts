// Facts for the `proxies` check, read through the apiserver's pods/proxy subresource so
// they work from wherever kubectl works. Each control-plane pod is read, not the Service:
// the Service proxy would pick one replica, and every proxy streams from just one of them.
// Each meshed proxy's own /metrics then names the pods that hold no snapshot.
import type { KubeConfig, V1Pod } from "@kubernetes/client-node";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { CONTAINER_NAMES, DEFAULT_PROXY_PORTS, LABELS } from "../../lib/proxy-contract.ts";
import { metricSum, parseMetricsText } from "./metrics-text.ts";
import type { DiscoveryFact, MeshedPodFact } from "./check-results.ts";

/** Meshed pods are read this many at a time, so a large mesh does not flood the apiserver. */
const CONCURRENCY = 8;

function errorOf(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  // The client's errors carry the whole response; the first line says enough.
  return new Error(e.message.split("\n")[0]?.slice(0, 200) ?? "");
}

function isRunning(pod: V1Pod): boolean {
  return pod.status?.phase === "Running" && pod.metadata?.deletionTimestamp === undefined && (pod.status.podIP ?? "") !== "";
}

/** The proxy container: a native sidecar (init container) or a classic one. */
function proxyContainer(pod: V1Pod) {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === CONTAINER_NAMES.proxy);
}

function portNamed(pod: V1Pod, container: string, port: string): number | undefined {
  const c = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((x) => x.name === container);
  return c?.ports?.find((p) => p.name === port)?.containerPort;
}

async function podMetrics(core: CoreV1Api, pod: V1Pod, port: number): Promise<string> {
  return core.connectGetNamespacedPodProxyWithPath({ name: `${pod.metadata?.name ?? ""}:${port}`, namespace: pod.metadata?.namespace ?? "", path: "metrics" });
}

export async function discoveryFact(kc: KubeConfig, ns: string): Promise<DiscoveryFact | Error> {
  const core = kc.makeApiClient(CoreV1Api);
  let pods: V1Pod[];
  try {
    const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: "weft-control-plane", namespace: ns });
    const labels = d.spec?.selector.matchLabels ?? {};
    const labelSelector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
    pods = (await core.listNamespacedPod({ namespace: ns, labelSelector })).items.filter(isRunning);
  } catch (err) {
    return errorOf(err);
  }
  if (pods.length === 0) return new Error(`no running control-plane pod in ${ns}`);
  const fact: DiscoveryFact = { streams: 0, behind: 0, replicas: pods.length };
  for (const pod of pods) {
    const port = portNamed(pod, "control-plane", "admin");
    if (port === undefined) return new Error(`control-plane pod ${pod.metadata?.name ?? ""} has no port named admin`);
    let text: string;
    try {
      text = await podMetrics(core, pod, port);
    } catch (err) {
      return new Error(`GET /metrics of ${pod.metadata?.name ?? ""}: ${errorOf(err).message}`);
    }
    const samples = parseMetricsText(text);
    const streams = metricSum(samples, "weft_discovery_streams");
    if (streams === undefined) return new Error(`${pod.metadata?.name ?? ""} exports no weft_discovery_streams (not a Weft control plane?)`);
    // An older control plane (the CLI upgraded first) lacks it: the verdict notes that rather than failing.
    const behind = metricSum(samples, "weft_discovery_streams_behind");
    fact.streams += streams;
    fact.behind = behind === undefined || fact.behind === null ? null : fact.behind + behind;
  }
  return fact;
}

async function meshedPod(core: CoreV1Api, pod: V1Pod): Promise<MeshedPodFact> {
  const fact = { pod: pod.metadata?.name ?? "", namespace: pod.metadata?.namespace ?? "" };
  const port = portNamed(pod, CONTAINER_NAMES.proxy, "weft-admin") ?? DEFAULT_PROXY_PORTS.admin;
  try {
    const samples = parseMetricsText(await podMetrics(core, pod, port));
    const info = samples.find((s) => s.name === "weft_proxy_snapshot_info" && s.value === 1);
    const anchors = samples.filter((s) => s.name === "weft_proxy_trust_anchor_info" && s.value === 1).map((s) => s.labels.fingerprint ?? "");
    const issuer = samples.find((s) => s.name === "weft_proxy_certificate_issuer_info" && s.value === 1)?.labels.fingerprint ?? null;
    return { ...fact, proxy: { version: info?.labels.version ?? null, ...(anchors.length > 0 ? { anchors, issuer } : {}) } };
  } catch (err) {
    return { ...fact, proxy: errorOf(err) };
  }
}

/** Every running pod with Weft's proxy container, cluster-wide, and what its proxy reports. */
export async function meshedPodFacts(kc: KubeConfig): Promise<MeshedPodFact[] | Error> {
  const core = kc.makeApiClient(CoreV1Api);
  let pods: V1Pod[];
  try {
    // The injector labels every pod it meshes; the container is the proof it was injected.
    pods = (await core.listPodForAllNamespaces({ labelSelector: LABELS.meshed })).items.filter((p) => isRunning(p) && proxyContainer(p) !== undefined);
  } catch (err) {
    return errorOf(err);
  }
  const out: MeshedPodFact[] = [];
  for (let i = 0; i < pods.length; i += CONCURRENCY) {
    out.push(...(await Promise.all(pods.slice(i, i + CONCURRENCY).map((p) => meshedPod(core, p)))));
  }
  return out;
}
