// Pods as the inspection commands need them: a resource resolved to one running
// pod, the proxy's admin port read from its spec, and the injected proxy's
// version read from the injector's annotation.
import type { KubeConfig, V1Container, V1Pod } from "@kubernetes/client-node";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { ANNOTATIONS, CONTAINER_NAMES, DEFAULT_PROXY_PORTS } from "../../lib/proxy-contract.ts";
import type { ResourceRef } from "./kube-resource.ts";

export class NotFoundError extends Error {}

export function isRunning(pod: V1Pod): boolean {
  return pod.status?.phase === "Running" && pod.metadata?.deletionTimestamp === undefined;
}

/** The proxy container: a native sidecar (init container) or a classic one. */
export function proxyContainer(pod: V1Pod): V1Container | undefined {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === CONTAINER_NAMES.proxy);
}

export function adminPortOf(pod: V1Pod): number {
  return proxyContainer(pod)?.ports?.find((p) => p.name === "weft-admin")?.containerPort ?? DEFAULT_PROXY_PORTS.admin;
}

/** "0.1.0" from `weft 0.1.0; config abc`, else the proxy image's tag, else "". */
export function proxyVersionOf(pod: V1Pod): string {
  const by = pod.metadata?.annotations?.[ANNOTATIONS.injectedBy];
  const m = by === undefined ? null : /^weft (\S+);/.exec(by);
  if (m?.[1]) return m[1];
  const image = proxyContainer(pod)?.image ?? "";
  const at = image.lastIndexOf(":");
  return at > image.lastIndexOf("/") ? image.slice(at + 1) : "";
}

export function podName(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
}

/** The pod itself, or a running pod of the Deployment (the newest, as kubectl logs deploy/x picks one). */
export async function resolvePod(kc: KubeConfig, namespace: string, ref: ResourceRef): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  if (ref.kind === "pod") {
    try {
      return await core.readNamespacedPod({ name: ref.name, namespace });
    } catch (err) {
      if ((err as { code?: number }).code === 404) throw new NotFoundError(`pod ${namespace}/${ref.name} not found`);
      throw err;
    }
  }
  let selector: Record<string, string>;
  try {
    const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: ref.name, namespace });
    selector = d.spec?.selector.matchLabels ?? {};
  } catch (err) {
    if ((err as { code?: number }).code === 404) throw new NotFoundError(`deployment ${namespace}/${ref.name} not found`);
    throw err;
  }
  const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(",");
  const pods = (await core.listNamespacedPod({ namespace, labelSelector })).items.filter(isRunning);
  pods.sort((a, b) => (b.metadata?.creationTimestamp?.getTime() ?? 0) - (a.metadata?.creationTimestamp?.getTime() ?? 0));
  const pod = pods[0];
  if (!pod) throw new NotFoundError(`deployment ${namespace}/${ref.name} has no running pod`);
  return pod;
}
