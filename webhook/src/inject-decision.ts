// Whether a pod gets the proxy, and why: the selection rules (docs/injection.md) as one
// pure function. The reason is a stable code that the AdmissionReview message,
// the weft_webhook_admissions_total{decision} label and `weft inject` all show.
import type { V1Pod } from "@kubernetes/client-node";
import { ANNOTATIONS, CONTAINER_NAMES, LABELS } from "../../lib/proxy-contract.ts";
import type { InjectorConfig } from "./injector-config.ts";

export type DecisionCode =
  | "injected"
  | "namespace-not-enabled"
  | "pod-annotation-disabled"
  | "already-injected"
  | "host-network"
  | "control-plane-namespace"
  | "kube-system";

export interface Decision {
  inject: boolean;
  code: DecisionCode;
  message: string;
}

/** What the injector needs to know of the pod's namespace. */
export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
}

const ENABLED = "enabled";
const DISABLED = "disabled";

function skip(code: DecisionCode, message: string): Decision {
  return { inject: false, code, message };
}

/** True when the pod already runs the Weft proxy (or was marked by an injector). */
export function alreadyInjected(pod: V1Pod): boolean {
  const names = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name);
  return names.includes(CONTAINER_NAMES.proxy) || names.includes(CONTAINER_NAMES.init) || names.includes(CONTAINER_NAMES.validate) || pod.metadata?.annotations?.[ANNOTATIONS.injectedBy] !== undefined;
}

// The opt-in/opt-out switch may be an annotation (the documented way) or a label
// with the same key: only a label can be matched by the webhook's objectSelector,
// so a pod in an unlabelled namespace needs the label for the apiserver to call us.
function podSwitch(pod: V1Pod): string | undefined {
  return pod.metadata?.annotations?.[ANNOTATIONS.inject] ?? pod.metadata?.labels?.[LABELS.inject];
}

export function decide(pod: V1Pod, namespace: NamespaceInfo, config: InjectorConfig): Decision {
  if (namespace.name === "kube-system") return skip("kube-system", "pods in kube-system are never injected");
  if (namespace.name === config.controlPlane.namespace) {
    return skip("control-plane-namespace", `pods in the control plane's namespace ${namespace.name} are never injected`);
  }
  if (alreadyInjected(pod)) return skip("already-injected", "the pod already has the Weft proxy");
  if (pod.spec?.hostNetwork === true) return skip("host-network", "hostNetwork pods share the node's network and cannot be captured");
  const podValue = podSwitch(pod);
  if (podValue === DISABLED) return skip("pod-annotation-disabled", `the pod says ${ANNOTATIONS.inject}: disabled`);
  if (namespace.labels[LABELS.inject] === ENABLED) {
    return { inject: true, code: "injected", message: `namespace ${namespace.name} is labelled ${LABELS.inject}=enabled` };
  }
  if (podValue === ENABLED) return { inject: true, code: "injected", message: `the pod says ${ANNOTATIONS.inject}: enabled` };
  return skip("namespace-not-enabled", `namespace ${namespace.name} is not labelled ${LABELS.inject}=enabled and the pod does not opt in`);
}
