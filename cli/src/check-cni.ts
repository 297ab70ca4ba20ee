// `weft check`'s verdict on CNI mode: when the injector is in CNI mode or the
// weft-cni DaemonSet exists, every node must run a Ready weft-cni pod (its
// readiness means weft-cni is in the node's CNI chain; charts/weft/templates/cni.yaml).
// Pure: facts in, a result out; check-gather.ts reads the cluster.
import type { CheckResult } from "./check-results.ts";

export interface CniFact {
  /** The injector's configuration asks for CNI mode. */
  injectorCni: boolean;
  daemonSet: boolean;
  /** Every node, with whether a Ready weft-cni pod runs on it (absent: no pod there). */
  nodes: { name: string; pod?: { name: string; ready: boolean } }[];
}

const NAME = "cni";

/** Undefined when CNI mode is not in use at all: the check is then left out. */
export function checkCni(fact: CniFact | Error): CheckResult | undefined {
  if (fact instanceof Error) return { name: NAME, ok: false, message: `cannot read CNI mode's state: ${fact.message}`, hint: "weft check needs get daemonsets and configmaps in the release namespace, and list nodes and pods" };
  if (!fact.injectorCni && !fact.daemonSet) return undefined;
  if (!fact.daemonSet) {
    return { name: NAME, ok: false, message: "the injector is in CNI mode but the weft-cni DaemonSet is missing: meshed pods will fail weft-validate", hint: "helm upgrade with cni.enabled=true (it installs both), or turn CNI mode off" };
  }
  const missing = fact.nodes.filter((n) => !n.pod).map((n) => n.name);
  const unready = fact.nodes.filter((n) => n.pod && !n.pod.ready).map((n) => `${n.name} (${n.pod?.name})`);
  if (missing.length > 0 || unready.length > 0) {
    const parts = [missing.length ? `no weft-cni pod on ${missing.join(", ")}` : "", unready.length ? `weft-cni not in the CNI chain yet on ${unready.join(", ")}` : ""].filter(Boolean);
    return { name: NAME, ok: false, message: parts.join("; "), hint: "kubectl -n <namespace> logs daemonset/weft-cni says why (no .conflist in cni.confDir, a wrong cni.binDir, a taint it does not tolerate)" };
  }
  const mode = fact.injectorCni ? "" : " (the injector is not in CNI mode: pods still get weft-init)";
  return { name: NAME, ok: true, message: `weft-cni installed and in the CNI chain on ${fact.nodes.length}/${fact.nodes.length} nodes${mode}`, hint: "" };
}
