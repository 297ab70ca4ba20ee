// Which AuthorizationPolicies select one workload, compiled into the wire
// form its proxy evaluates. Pure: the control plane calls it per meshed pod
// when the model changes, `weft authz` per pod from live cluster objects.
// STUB: signatures fixed; implementation in progress (issue 17).
import type { Authorization } from "../../api/gen/weft/discovery/v1/Authorization.ts";
import type { DefaultPolicy } from "./default-policy.ts";
import type { AuthzPolicySpec } from "./spec.ts";

export interface WorkloadFacts {
  namespace: string;
  /** The pod's name. */
  name: string;
  labels: Readonly<Record<string, string>>;
  /** Service name -> Service port -> the pod port it reaches (from the Services' endpoints that are this pod). */
  servicePorts: ReadonlyMap<string, ReadonlyMap<number, number>>;
}

/**
 * The Authorization for one workload: its default, and every policy of its namespace that
 * selects it (Service targets narrowed to the pod ports those Services reach), in a stable order
 * (so equal inputs give equal bytes, and proxies with the same result share one snapshot).
 */
export function authorizationForWorkload(
  policies: readonly AuthzPolicySpec[],
  workload: WorkloadFacts,
  defaultPolicy: DefaultPolicy,
  trustDomain: string,
): Authorization {
  void policies;
  void workload;
  void defaultPolicy;
  void trustDomain;
  throw new Error("not implemented");
}
