// The cluster objects `weft authz` reads, with the user's own RBAC: the
// namespace, its AuthorizationPolicies, Services and EndpointSlices, the pods
// in question, and the control plane's mesh-wide default and trust domain
// (from its Deployment's flags, as the chart sets them).
import { AppsV1Api, CoreV1Api, CustomObjectsApi, DiscoveryV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { MESH_DEFAULT_POLICY, parseDefaultPolicy, type DefaultPolicy } from "../../lib/authz/default-policy.ts";
import { AUTHZ_GROUP, AUTHZ_PLURAL, AUTHZ_VERSION } from "../../lib/authz/spec.ts";
import type { NamespaceObjects, PodFacts } from "./authz-view.ts";

const CONTROL_PLANE_DEPLOYMENT = "weft-control-plane";
const DEFAULT_TRUST_DOMAIN = "cluster.local";

export interface Gathered {
  objects: NamespaceObjects;
  /** What could not be read, and what was assumed instead. */
  notes: string[];
}

export function podFacts(pod: V1Pod): PodFacts {
  return {
    namespace: pod.metadata?.namespace ?? "",
    name: pod.metadata?.name ?? "",
    labels: pod.metadata?.labels ?? {},
    annotations: pod.metadata?.annotations ?? {},
  };
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
    if (a === flag) return args[i + 1];
  }
  return undefined;
}

async function meshSettings(kc: KubeConfig, controlPlaneNamespace: string, notes: string[]): Promise<{ defaultPolicy: DefaultPolicy; trustDomain: string }> {
  try {
    const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: CONTROL_PLANE_DEPLOYMENT, namespace: controlPlaneNamespace });
    const args = d.spec?.template.spec?.containers.flatMap((c) => [...(c.command ?? []), ...(c.args ?? [])]) ?? [];
    const text = flagValue(args, "--default-inbound-policy");
    const parsed = text === undefined ? null : parseDefaultPolicy(text);
    return {
      defaultPolicy: parsed?.ok ? parsed.value : MESH_DEFAULT_POLICY,
      trustDomain: flagValue(args, "--trust-domain") ?? DEFAULT_TRUST_DOMAIN,
    };
  } catch (err) {
    notes.push(`could not read deployment ${controlPlaneNamespace}/${CONTROL_PLANE_DEPLOYMENT} (${(err as { code?: number }).code ?? (err as Error).message}): assuming the mesh-wide default all-authenticated and trust domain ${DEFAULT_TRUST_DOMAIN}`);
    return { defaultPolicy: MESH_DEFAULT_POLICY, trustDomain: DEFAULT_TRUST_DOMAIN };
  }
}

export async function gatherNamespace(kc: KubeConfig, namespace: string, controlPlaneNamespace: string): Promise<Gathered> {
  const notes: string[] = [];
  const core = kc.makeApiClient(CoreV1Api);
  const [ns, services, slices, mesh] = await Promise.all([
    core.readNamespace({ name: namespace }),
    core.listNamespacedService({ namespace }),
    kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace }),
    meshSettings(kc, controlPlaneNamespace, notes),
  ]);
  let policies: unknown[] = [];
  try {
    const list = (await kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group: AUTHZ_GROUP, version: AUTHZ_VERSION, namespace, plural: AUTHZ_PLURAL })) as { items?: unknown[] };
    policies = list.items ?? [];
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
    notes.push(`the ${AUTHZ_PLURAL}.${AUTHZ_GROUP} CRD is not installed: no policies, defaults only`);
  }
  return {
    objects: { namespace, namespaceAnnotations: ns.metadata?.annotations ?? {}, policies, services: services.items, slices: slices.items, mesh },
    notes,
  };
}

/** The pods behind a Service's EndpointSlices (those the apiserver still has). */
export async function podsBehind(kc: KubeConfig, objects: NamespaceObjects, service: string): Promise<PodFacts[]> {
  const names = new Set<string>();
  for (const slice of objects.slices) {
    if (slice.metadata?.labels?.["kubernetes.io/service-name"] !== service) continue;
    for (const e of slice.endpoints ?? []) if (e.targetRef?.kind === "Pod" && e.targetRef.name) names.add(e.targetRef.name);
  }
  if (names.size === 0) return [];
  const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: objects.namespace });
  return pods.items.filter((p) => names.has(p.metadata?.name ?? "")).map(podFacts).sort((a, b) => (a.name < b.name ? -1 : 1));
}
