// The tap component's reads of the cluster: the pods a tap selects (running,
// meshed, with an IP), what a `--to` resource stands for, and the apiserver's
// requestheader settings (kube-system/extension-apiserver-authentication).
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { DEFAULT_PROXY_PORTS, LABELS } from "../../lib/proxy-contract.ts";
import { formatSpiffeId } from "../../lib/spiffe.ts";
import type { TapTarget } from "./tap-authorize.ts";
import type { RequestHeaderAuth, TapCluster, TapPod } from "./tap-server.ts";

function selector(labels: Record<string, string> | undefined): string | undefined {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? undefined : entries.map(([k, v]) => `${k}=${v}`).join(",");
}

/** A running meshed pod with an IP, as a tap target; undefined otherwise. Pure. */
export function tapPodOf(pod: V1Pod): TapPod | undefined {
  const ip = pod.status?.podIP;
  if (pod.status?.phase !== "Running" || !ip || pod.metadata?.labels?.[LABELS.meshed] !== "true") return undefined;
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const port = containers.flatMap((c) => c.ports ?? []).find((p) => p.name === "weft-inbound")?.containerPort ?? DEFAULT_PROXY_PORTS.inbound;
  return { namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "", ip, serviceAccount: pod.spec?.serviceAccountName ?? "default", port };
}

export function kubeTapCluster(kc: KubeConfig, trustDomain: string): TapCluster {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const podsBy = async (namespace: string, labels: Record<string, string> | undefined, all: boolean): Promise<V1Pod[]> => {
    const labelSelector = selector(labels);
    if (labelSelector === undefined && !all) return [];
    return (await core.listNamespacedPod({ namespace, labelSelector })).items;
  };
  const selected = async (namespace: string, kind: string, name: string): Promise<V1Pod[]> => {
    switch (kind) {
      case "pods":
        return [await core.readNamespacedPod({ namespace, name })];
      case "deployments":
        return podsBy(namespace, (await apps.readNamespacedDeployment({ namespace, name })).spec?.selector.matchLabels, false);
      case "services":
        return podsBy(namespace, (await core.readNamespacedService({ namespace, name })).spec?.selector, false);
      default:
        return podsBy(namespace, undefined, true);
    }
  };
  return {
    async pods(target: TapTarget) {
      return (await selected(target.namespace, target.kind, target.name)).flatMap((p) => tapPodOf(p) ?? []);
    },
    async destinations(namespace, kind, name) {
      if (kind === "services") return { services: [`${namespace}/${name}`], identities: [] };
      const pods = await selected(namespace, kind, name);
      const identities = [...new Set(pods.map((p) => formatSpiffeId({ trustDomain, namespace, serviceAccount: p.spec?.serviceAccountName ?? "default" })))];
      return { services: [], identities };
    },
  };
}

function jsonList(text: string | undefined, fallback: string[]): string[] {
  if (!text) return fallback;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) && v.every((s) => typeof s === "string") ? v : fallback;
  } catch {
    return fallback;
  }
}

/** The apiserver's requestheader settings, as it publishes them for aggregated APIs. */
export async function readRequestHeaderAuth(kc: KubeConfig): Promise<RequestHeaderAuth | undefined> {
  const cm = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: "kube-system", name: "extension-apiserver-authentication" });
  const data = cm.data ?? {};
  const clientCaPem = data["requestheader-client-ca-file"];
  if (!clientCaPem) return undefined;
  return {
    clientCaPem,
    allowedNames: jsonList(data["requestheader-allowed-names"], []),
    userHeaders: jsonList(data["requestheader-username-headers"], ["X-Remote-User"]),
    groupHeaders: jsonList(data["requestheader-group-headers"], ["X-Remote-Group"]),
    extraHeaderPrefixes: jsonList(data["requestheader-extra-headers-prefix"], ["X-Remote-Extra-"]),
  };
}
