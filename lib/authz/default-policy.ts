// The default inbound policy: what decides for a port no ALLOW policy covers.
// Set mesh-wide (chart value authorization.defaultPolicy, control-plane flag
// --default-inbound-policy), per namespace and per pod by the annotation
// config.weft.io/default-inbound-policy. "dry-run:<name>" only logs and counts.
import type { DefaultInboundPolicy__Output } from "../../api/gen/weft/discovery/v1/DefaultInboundPolicy.ts";
import { fail, ok, type Result } from "../result.ts";

export const DEFAULT_POLICY_ANNOTATION = "config.weft.io/default-inbound-policy";

export type DefaultPolicyName = "all-authenticated" | "cluster-authenticated" | "all-unauthenticated" | "deny";

export interface DefaultPolicy {
  name: DefaultPolicyName;
  dryRun: boolean;
}

export const MESH_DEFAULT_POLICY: DefaultPolicy = { name: "all-authenticated", dryRun: false };

export const DEFAULT_POLICY_NAMES: readonly DefaultPolicyName[] = ["all-authenticated", "cluster-authenticated", "all-unauthenticated", "deny"];

const DRY_RUN_PREFIX = "dry-run:";

const WIRE: Record<DefaultPolicyName, DefaultInboundPolicy__Output> = {
  "all-authenticated": "DEFAULT_ALL_AUTHENTICATED",
  "cluster-authenticated": "DEFAULT_CLUSTER_AUTHENTICATED",
  "all-unauthenticated": "DEFAULT_ALL_UNAUTHENTICATED",
  deny: "DEFAULT_DENY",
};

export type DefaultPolicyParseCode = "bad-default-policy";

/** An annotation's, flag's or chart value's text: "<name>" or "dry-run:<name>". Exact: no case folding, no spaces. */
export function parseDefaultPolicy(text: string): Result<DefaultPolicy, DefaultPolicyParseCode> {
  const dryRun = text.startsWith(DRY_RUN_PREFIX);
  const name = dryRun ? text.slice(DRY_RUN_PREFIX.length) : text;
  const known = DEFAULT_POLICY_NAMES.find((n) => n === name);
  if (known === undefined) {
    return fail("bad-default-policy", `"${text}" is not a default inbound policy: want one of ${DEFAULT_POLICY_NAMES.join(", ")}, each optionally as dry-run:<name>`);
  }
  return ok({ name: known, dryRun });
}

/** The text parseDefaultPolicy reads back: for logs, `weft authz` and annotations. */
export function formatDefaultPolicy(p: DefaultPolicy): string {
  return p.dryRun ? `${DRY_RUN_PREFIX}${p.name}` : p.name;
}

/** The Authorization message's default_policy and default_dry_run fields. */
export function defaultPolicyToWire(p: DefaultPolicy): { defaultPolicy: DefaultInboundPolicy__Output; defaultDryRun: boolean } {
  return { defaultPolicy: WIRE[p.name], defaultDryRun: p.dryRun };
}

/**
 * The old config.weft.io/inbound-mode (as the control plane reads it: STRICT
 * took mesh mTLS only, PERMISSIVE passed plaintext through too) as a default
 * policy. The new annotation wins when both are set.
 */
export function legacyInboundModeDefault(mode: "STRICT" | "PERMISSIVE"): DefaultPolicy {
  return { name: mode === "STRICT" ? "all-authenticated" : "all-unauthenticated", dryRun: false };
}

/** Where a workload's default came from, for `weft authz` to say. */
export type DefaultPolicySource = "pod annotation" | "namespace annotation" | "namespace inbound-mode (legacy)" | "mesh-wide";

export interface DefaultPolicyInputs {
  /** The pod's config.weft.io/default-inbound-policy, parsed. */
  pod: DefaultPolicy | null;
  /** The namespace's config.weft.io/default-inbound-policy, parsed. */
  namespace: DefaultPolicy | null;
  /** The namespace's legacy config.weft.io/inbound-mode. */
  legacyMode: "STRICT" | "PERMISSIVE" | null;
  /** The chart's authorization.defaultPolicy (the control plane's --default-inbound-policy). */
  mesh: DefaultPolicy;
}

/** The pod's annotation wins, then the namespace's, then its legacy inbound-mode, then the mesh-wide default. */
export function resolveDefaultPolicy(inputs: DefaultPolicyInputs): { policy: DefaultPolicy; source: DefaultPolicySource } {
  if (inputs.pod) return { policy: inputs.pod, source: "pod annotation" };
  if (inputs.namespace) return { policy: inputs.namespace, source: "namespace annotation" };
  if (inputs.legacyMode) return { policy: legacyInboundModeDefault(inputs.legacyMode), source: "namespace inbound-mode (legacy)" };
  return { policy: inputs.mesh, source: "mesh-wide" };
}

/** The legacy config.weft.io/inbound-mode annotation's value: "strict" or "permissive" (any case), else null. */
export function parseInboundModeAnnotation(text: string): "STRICT" | "PERMISSIVE" | null {
  const v = text.trim().toLowerCase();
  if (v === "strict") return "STRICT";
  if (v === "permissive") return "PERMISSIVE";
  return null;
}
