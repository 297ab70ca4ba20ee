// What an injected proxy is told about tracing: the mesh-wide settings from the
// injector configuration, the pod's own sampling ratio when it asks for one,
// and the name its spans carry. Nothing at all when tracing is off, so the
// proxy starts its no-op tracer exactly as before tracing was configurable.
import type { V1EnvVar, V1Pod } from "@kubernetes/client-node";
import { ANNOTATIONS, PROXY_ENV } from "../../lib/proxy-contract.ts";
import type { InjectorTracing } from "./injector-config.ts";

/** Per-pod override of tracing.samplingRatio. */
export const TRACING_SAMPLING_ANNOTATION = ANNOTATIONS.tracingSamplingRatio;

/** The pod's share of the tracing settings; undefined when tracing is off. */
export interface PodTracing {
  samplingRatio: number;
  /** service.name of the proxy's spans; undefined leaves the proxy's default (its service account). */
  serviceName: string | undefined;
}

const DECIMAL = /^\s*(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

// Recommended label first, then the older convention most charts still use.
const NAME_LABELS = ["app.kubernetes.io/name", "app"] as const;

/**
 * The workload a pod belongs to, as tracing backends group spans: its app
 * label, else its controller's name, with a ReplicaSet's template hash taken
 * off so every revision of a Deployment is one service. A bare pod has none
 * (its name is per replica, not per service).
 */
export function workloadName(pod: V1Pod): string | undefined {
  const labels = pod.metadata?.labels ?? {};
  for (const key of NAME_LABELS) {
    const v = labels[key]?.trim();
    if (v) return v;
  }
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!owner?.name) return undefined;
  const hash = labels["pod-template-hash"];
  if (owner.kind === "ReplicaSet" && hash && owner.name.endsWith(`-${hash}`)) return owner.name.slice(0, -(hash.length + 1));
  return owner.name;
}

/** Reads the pod's tracing settings; an invalid annotation adds a warning and the default applies. */
export function podTracing(pod: V1Pod, tracing: InjectorTracing | undefined, warnings: string[]): PodTracing | undefined {
  const annotation = pod.metadata?.annotations?.[TRACING_SAMPLING_ANNOTATION];
  if (!tracing) {
    if (annotation !== undefined) warnings.push(`weft: annotation ${TRACING_SAMPLING_ANNOTATION} has no effect: tracing is off in the mesh (no tracing.endpoint)`);
    return undefined;
  }
  let samplingRatio = tracing.samplingRatio;
  if (annotation !== undefined) {
    // Decimal only: Number() alone would also take "0x1" or "".
    const n = DECIMAL.test(annotation) ? Number(annotation) : NaN;
    if (Number.isFinite(n) && n >= 0 && n <= 1) samplingRatio = n;
    else warnings.push(`weft: annotation ${TRACING_SAMPLING_ANNOTATION}="${annotation}" is not a number from 0 to 1; using ${samplingRatio}`);
  }
  return { samplingRatio, serviceName: workloadName(pod) };
}

/** The proxy's WEFT_TRACING_* variables (lib/tracing-config.ts TRACING_ENV reads them back). */
export function tracingEnv(tracing: InjectorTracing, pod: PodTracing): V1EnvVar[] {
  const out: V1EnvVar[] = [
    { name: PROXY_ENV.tracingEndpoint, value: tracing.endpoint },
    { name: PROXY_ENV.tracingProtocol, value: tracing.protocol },
    { name: PROXY_ENV.tracingSamplingRatio, value: String(pod.samplingRatio) },
    { name: PROXY_ENV.tracingPropagation, value: tracing.propagation.join(",") },
    { name: PROXY_ENV.tracingMaxQueueSize, value: String(tracing.maxQueueSize) },
  ];
  if (pod.serviceName) out.push({ name: PROXY_ENV.tracingServiceName, value: pod.serviceName });
  return out;
}
