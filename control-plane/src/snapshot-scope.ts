// Which Services a proxy is told about. The rule (docs/discovery.md):
//   a Service is in the scope of a proxy in namespace N when
//   - it is in N itself, or
//   - its namespace is meshed (labelled weft.io/inject=enabled), or
//   - at least one of its endpoints is meshed (a pod labelled weft.io/meshed).
// Everything else (kube-system, unmeshed apps elsewhere) stays out: a meshed
// client reaching it falls through to kube-proxy as if there were no mesh.
// The Services depend on the proxy's namespace only; its policy also on its pod
// (AuthorizationPolicies select pods), so a scope group is a namespace and a
// policy class (snapshot-authorization.ts): proxies with the same policy in one
// namespace share one group and one computed delta.
import type { NamespaceModel, ServiceModel } from "./mesh-state.ts";

/** True when the Service is visible to every proxy in the mesh. */
export function isMeshWide(service: ServiceModel, namespaces: ReadonlyMap<string, NamespaceModel>): boolean {
  if (namespaces.get(service.namespace)?.meshEnabled) return true;
  return service.endpoints.some((e) => e.meshed === true);
}

export function inScope(proxyNamespace: string, service: ServiceModel, namespaces: ReadonlyMap<string, NamespaceModel>): boolean {
  return service.namespace === proxyNamespace || isMeshWide(service, namespaces);
}
