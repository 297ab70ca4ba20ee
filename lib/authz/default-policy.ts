// The default inbound policy: what decides for a port no ALLOW policy covers.
// Set mesh-wide (chart value authorization.defaultPolicy, control-plane flag
// --default-inbound-policy), per namespace and per pod by the annotation
// config.weft.io/default-inbound-policy. "dry-run:<name>" only logs and counts.
export const DEFAULT_POLICY_ANNOTATION = "config.weft.io/default-inbound-policy";

export type DefaultPolicyName = "all-authenticated" | "cluster-authenticated" | "all-unauthenticated" | "deny";

export interface DefaultPolicy {
  name: DefaultPolicyName;
  dryRun: boolean;
}

export const MESH_DEFAULT_POLICY: DefaultPolicy = { name: "all-authenticated", dryRun: false };
