// Which AuthorizationPolicies select one workload, compiled into the wire
// form its proxy evaluates. Pure: the control plane calls it per meshed pod
// when the model changes, `weft authz` per pod from live cluster objects.
import type { Authorization } from "../../api/gen/weft/discovery/v1/Authorization.ts";
import type { AuthorizationPolicy } from "../../api/gen/weft/discovery/v1/AuthorizationPolicy.ts";
import { defaultPolicyToWire, type DefaultPolicy } from "./default-policy.ts";
import type { AuthzPolicySpec, LabelSelector } from "./spec.ts";

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
  const selected: AuthorizationPolicy[] = [];
  for (const policy of policies) {
    if (policy.namespace !== workload.namespace) continue;
    const ports = portsSelected(policy, workload);
    if (ports === null) continue;
    selected.push({ name: `${policy.namespace}/${policy.name}`, action: policy.action, ports, rules: policy.rules });
  }
  // Names are unique within a namespace, so this order is total.
  selected.sort((a, b) => compare(a.name ?? "", b.name ?? ""));
  return { ...defaultPolicyToWire(defaultPolicy), policies: selected, trustDomain };
}

/** The pod ports the policy covers on this workload ([] = every port), or null when it does not select it. */
function portsSelected(policy: AuthzPolicySpec, workload: WorkloadFacts): number[] | null {
  const target = policy.target;
  switch (target.kind) {
    case "namespace":
      return [];
    case "selector":
      return selectorMatches(target.selector, workload.labels) ? [] : null;
    case "services": {
      const ports = new Set<number>();
      for (const ref of target.services) {
        const reached = workload.servicePorts.get(ref.name);
        if (!reached) continue;
        if (ref.port === undefined) for (const podPort of reached.values()) ports.add(podPort);
        else {
          const podPort = reached.get(ref.port);
          if (podPort !== undefined) ports.add(podPort);
        }
      }
      // Never [] here: that would read as "every port", wider than what the Services reach.
      return ports.size === 0 ? null : [...ports].sort((a, b) => a - b);
    }
  }
}

/** Kubernetes label selector semantics: every matchLabels pair and every expression must hold. */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels)) if (labels[key] !== value) return false;
  for (const e of selector.matchExpressions) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    switch (e.operator) {
      case "In":
        if (!has || value === undefined || !e.values.includes(value)) return false;
        break;
      case "NotIn":
        // As in Kubernetes: a pod without the label matches NotIn.
        if (has && value !== undefined && e.values.includes(value)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
    }
  }
  return true;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
