// What each Weft component asks of the apiserver at run time: the one list `weft check`
// verifies with SubjectAccessReviews for the components' ServiceAccounts. The chart's
// ClusterRoles must grant exactly this (test/cli/check-component-rbac.test.ts renders
// the chart and compares), so a new watch in a component without a chart rule, or a
// chart rule nothing uses, fails a test rather than a cluster.

export interface Permission {
  verb: string;
  group: string;
  resource: string;
}

export interface ComponentPermissions {
  /** The check's name in `weft check` output. */
  check: string;
  /** The component's ServiceAccount (in the release namespace) and its ClusterRole. */
  serviceAccount: string;
  clusterRole: string;
  permissions: Permission[];
}

const READ = ["get", "list", "watch"];

function each(verbs: string[], group: string, resources: string[]): Permission[] {
  return resources.flatMap((resource) => verbs.map((verb) => ({ verb, group, resource })));
}

export const COMPONENT_PERMISSIONS: ComponentPermissions[] = [
  {
    check: "rbac-control-plane",
    serviceAccount: "weft-control-plane",
    clusterRole: "weft-control-plane",
    permissions: [
      // control-plane/src/source-kubernetes.ts: informers (list + watch) over the mesh's
      // inputs; get for reads after a watch restarts.
      ...each(READ, "", ["services", "pods", "namespaces"]),
      ...each(READ, "discovery.k8s.io", ["endpointslices"]),
      // The AuthorizationPolicies the control plane compiles per workload.
      ...each(READ, "policy.weft.io", ["authorizationpolicies"]),
      // GAMMA routing: the routes on Services and the grants for their cross-namespace
      // backends, and their status written back (control-plane/src/routes-status-writer.ts).
      ...each(READ, "gateway.networking.k8s.io", ["httproutes", "grpcroutes", "referencegrants"]),
      ...each(["update", "patch"], "gateway.networking.k8s.io", ["httproutes/status", "grpcroutes/status"]),
      // control-plane/src/identity-verifier-token-review.ts: whose token a proxy presented.
      { verb: "create", group: "authentication.k8s.io", resource: "tokenreviews" },
    ],
  },
  {
    check: "rbac-webhook",
    serviceAccount: "weft-webhook",
    clusterRole: "weft-webhook",
    // webhook/src/namespace-source-kubernetes.ts: the labels of the pod's namespace.
    permissions: [{ verb: "get", group: "", resource: "namespaces" }],
  },
];

export function permissionKey(p: Permission): string {
  return `${p.verb} ${p.group === "" ? "" : `${p.group}/`}${p.resource}`;
}
