// `weft stat --from/--to deploy/NAME`: the mesh verifies ServiceAccounts, not
// Deployments (a caller's certificate names ns/sa), so a Deployment peer is
// the identity its pods run as. When other Deployments there run as the same
// ServiceAccount their traffic cannot be told apart; the user is told so
// rather than shown a figure that silently includes them.
import { AppsV1Api, type KubeConfig, type V1Deployment } from "@kubernetes/client-node";
import { NotFoundError } from "./kube-pods.ts";
import type { DeploymentPeer, Peer } from "./prom-queries.ts";

/** The ServiceAccount a Deployment's pods run as ("default" when the template names none). Pure. */
export function deploymentServiceAccount(d: V1Deployment): string {
  const spec = d.spec?.template.spec;
  return spec?.serviceAccountName || spec?.serviceAccount || "default";
}

/** Besides `name`, the Deployments that run as `serviceAccount`. Pure. */
export function sharingServiceAccount(all: readonly V1Deployment[], name: string, serviceAccount: string): string[] {
  return all.filter((d) => d.metadata?.name !== name && deploymentServiceAccount(d) === serviceAccount).map((d) => d.metadata?.name ?? "").sort();
}

/** The identity peer a Deployment stands for, and a warning when it is not the Deployment's alone. */
export async function resolveDeploymentPeer(kc: KubeConfig, peer: DeploymentPeer): Promise<{ peer: Peer; warning?: string }> {
  const apps = kc.makeApiClient(AppsV1Api);
  let deployment: V1Deployment;
  try {
    deployment = await apps.readNamespacedDeployment({ name: peer.name, namespace: peer.namespace });
  } catch (err) {
    if ((err as { code?: number }).code === 404) throw new NotFoundError(`deployment "${peer.name}" not found in namespace ${peer.namespace}`);
    throw err;
  }
  const serviceAccount = deploymentServiceAccount(deployment);
  const resolved: Peer = { kind: "identity", namespace: peer.namespace, serviceAccount };
  const others = sharingServiceAccount((await apps.listNamespacedDeployment({ namespace: peer.namespace })).items, peer.name, serviceAccount);
  if (others.length === 0) return { peer: resolved };
  return {
    peer: resolved,
    warning: `deploy/${peer.name} is counted by its ServiceAccount ${peer.namespace}/${serviceAccount}, the identity the mesh verifies, which ${others.map((o) => `deploy/${o}`).join(", ")} also run${others.length === 1 ? "s" : ""} as: their traffic is included`,
  };
}
