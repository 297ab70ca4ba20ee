// An AuthorizationPolicy (policy.weft.io/v1alpha1) as the mesh model holds it:
// source-neutral (a Kubernetes custom resource and the local registry file
// both reduce to it), validated, and still keyed by what it targets. The
// control plane and `weft authz` compile it per workload (workload.ts) into the
// wire form a proxy evaluates (api/discovery.proto, Authorization).
//
// The rule fields are the wire's own (AuthorizationRule), so what an operator
// writes, what travels and what is evaluated cannot drift apart.
import type { AuthorizationRule } from "../../api/gen/weft/discovery/v1/AuthorizationRule.ts";

export const AUTHZ_GROUP = "policy.weft.io";
export const AUTHZ_VERSION = "v1alpha1";
export const AUTHZ_KIND = "AuthorizationPolicy";
export const AUTHZ_PLURAL = "authorizationpolicies";

export type AuthzAction = "ALLOW" | "DENY" | "AUDIT";

/** What the policy selects, in its own namespace. */
export type AuthzTarget =
  /** No targetRefs and no selector: every meshed workload of the namespace, every port. */
  | { kind: "namespace" }
  /** Pods whose labels match (matchLabels and matchExpressions), every port. */
  | { kind: "selector"; selector: LabelSelector }
  /** The pods behind these Services, on the Services' target ports (all ports, or the one named by `port`). */
  | { kind: "services"; services: ServiceTargetRef[] };

export interface ServiceTargetRef {
  name: string;
  /** A Service port number; unset = every port of the Service. */
  port?: number;
}

export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: LabelSelectorRequirement[];
}

export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values: string[];
}

export interface AuthzPolicySpec {
  namespace: string;
  name: string;
  target: AuthzTarget;
  action: AuthzAction;
  rules: AuthorizationRule[];
}
