// The injector core: (pod, namespace, configuration) -> (decision, injected pod,
// JSON patch). Pure and synchronous; the webhook and `weft inject` both call it,
// so an offline injection is the same as the one the apiserver stores.
import type { V1Pod } from "@kubernetes/client-node";
import type { Operation } from "fast-json-patch";
import { ANNOTATIONS, LABELS } from "../../lib/proxy-contract.ts";
import { decide, type Decision, type NamespaceInfo } from "./inject-decision.ts";
import { configHash, type InjectorConfig } from "./injector-config.ts";
import { podOverrides } from "./pod-overrides.ts";
import { rewriteProbes } from "./probe-rewrite.ts";
import { podPatch } from "./pod-patch.ts";
import { captureArgs, initContainer, proxyContainer, tokenVolume, validateContainer, xtablesLockVolume } from "./proxy-spec.ts";

export interface InjectionResult {
  decision: Decision;
  /** Messages for the user (invalid annotations that were ignored). */
  warnings: string[];
  /** The pod as it should be stored (the input itself when not injected). */
  pod: V1Pod;
  /** RFC 6902 patch from the input to `pod`; empty when not injected. */
  patch: Operation[];
}

/** `auto` assumes a 1.29+ apiserver; main.ts resolves it from the real version before serving. */
export function nativeSidecars(config: InjectorConfig): boolean {
  return config.nativeSidecar !== "off";
}

/** The injected pod without the patch: for `weft inject`, which writes whole objects. */
export function injectPod(pod: V1Pod, namespace: NamespaceInfo, config: InjectorConfig): Omit<InjectionResult, "patch"> {
  const decision = decide(pod, namespace, config);
  if (!decision.inject) return { decision, warnings: [], pod };
  const { settings, warnings } = podOverrides(pod, config);
  const spec = pod.spec ?? { containers: [] };
  const { containers, probes } = rewriteProbes(spec.containers ?? [], config.proxy.ports.admin, settings.skipInbound);
  const native = nativeSidecars(config);
  const proxy = proxyContainer(config, settings, probes, native);
  // CNI mode: the plugin writes the rules from the annotation; an unprivileged container checks them.
  const init = config.cni ? validateContainer(config, config.cni) : initContainer(config, settings);
  const cniAnnotation: Record<string, string> = config.cni ? { [ANNOTATIONS.cniCapture]: JSON.stringify(captureArgs(config, settings)) } : {};

  const out: V1Pod = {
    ...pod,
    metadata: {
      ...pod.metadata,
      labels: { ...pod.metadata?.labels, [LABELS.meshed]: "true" },
      annotations: { ...pod.metadata?.annotations, ...cniAnnotation, [ANNOTATIONS.injectedBy]: `weft ${config.version}; config ${configHash(config)}` },
    },
    spec: {
      ...spec,
      // Capture rules first (or, in CNI mode, the check that the plugin wrote them), then (native) the proxy, then the app's own init
      // containers, whose outbound traffic is then already captured and proxied.
      initContainers: native ? [init, proxy, ...(spec.initContainers ?? [])] : [init, ...(spec.initContainers ?? [])],
      containers: native ? containers : [proxy, ...containers],
      volumes: [...(spec.volumes ?? []), ...(config.cni ? [] : [xtablesLockVolume()]), tokenVolume()],
    },
  };
  return { decision, warnings, pod: out };
}

export function inject(pod: V1Pod, namespace: NamespaceInfo, config: InjectorConfig): InjectionResult {
  const result = injectPod(pod, namespace, config);
  if (!result.decision.inject) return { ...result, patch: [] };
  return { ...result, patch: podPatch(pod, result.pod) };
}
