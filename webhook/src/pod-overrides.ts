// Per-pod annotations that override the configuration's defaults. An invalid
// annotation is ignored (the default applies) and reported as a warning, which
// the apiserver shows to the user who created the pod: a typo must not keep a
// pod from starting, and must not pass silently either.
import type { V1Pod } from "@kubernetes/client-node";
import { ANNOTATIONS } from "../../lib/proxy-contract.ts";
import { isQuantity, LOG_LEVELS, requestOverLimit, type InjectorConfig, type ResourceSpec } from "./injector-config.ts";
import { formatPortList, parsePortList, type PortRange } from "../../lib/port-list.ts";
import { podTracing, type PodTracing } from "./tracing-injection.ts";

export interface ProxySettings {
  resources: ResourceSpec;
  logLevel: string;
  skipInbound: PortRange[];
  skipOutbound: PortRange[];
  opaque: PortRange[];
  /** Undefined when tracing is off in the configuration. */
  tracing: PodTracing | undefined;
}

export interface Overrides {
  settings: ProxySettings;
  warnings: string[];
}

export function podOverrides(pod: V1Pod, config: InjectorConfig): Overrides {
  const annotations = pod.metadata?.annotations ?? {};
  const warnings: string[] = [];

  const quantity = (key: string, fallback: string | undefined): string | undefined => {
    const v = annotations[key];
    if (v === undefined) return fallback;
    if (isQuantity(v)) return v;
    warnings.push(`weft: annotation ${key}="${v}" is not a Kubernetes quantity; using the default`);
    return fallback;
  };
  const ports = (key: string, fallback: string): PortRange[] => {
    const v = annotations[key];
    if (v !== undefined) {
      const parsed = parsePortList(v);
      if (parsed.ok) return parsed.value;
      warnings.push(`weft: annotation ${key}: ${parsed.message}; using the default`);
    }
    const d = parsePortList(fallback);
    return d.ok ? d.value : [];
  };

  const d = config.proxy.resources;
  let resources: ResourceSpec = {
    requests: dropUndefined({ cpu: quantity(ANNOTATIONS.proxyCpuRequest, d.requests.cpu), memory: quantity(ANNOTATIONS.proxyMemoryRequest, d.requests.memory) }),
    limits: dropUndefined({ cpu: quantity(ANNOTATIONS.proxyCpuLimit, d.limits.cpu), memory: quantity(ANNOTATIONS.proxyMemoryLimit, d.limits.memory) }),
  };
  // The apiserver refuses a request above its limit, and with it the pod.
  const over = requestOverLimit(resources);
  if (over) {
    warnings.push(`weft: proxy resource annotations: ${over}; using the default resources`);
    resources = d;
  }

  let logLevel = config.proxy.logLevel;
  const level = annotations[ANNOTATIONS.logLevel];
  if (level !== undefined) {
    if ((LOG_LEVELS as readonly string[]).includes(level)) logLevel = level;
    else warnings.push(`weft: annotation ${ANNOTATIONS.logLevel}="${level}" is not one of ${LOG_LEVELS.join(", ")}; using ${logLevel}`);
  }

  return {
    settings: {
      resources,
      logLevel,
      // The admin port is never captured: the kubelet's probes reach it directly.
      skipInbound: merge(ports(ANNOTATIONS.skipInboundPorts, config.skipInboundPorts), [{ from: config.proxy.ports.admin, to: config.proxy.ports.admin }]),
      skipOutbound: ports(ANNOTATIONS.skipOutboundPorts, config.skipOutboundPorts),
      opaque: ports(ANNOTATIONS.opaquePorts, config.opaquePorts),
      tracing: podTracing(pod, config.tracing, warnings),
    },
    warnings,
  };
}

function merge(a: PortRange[], b: PortRange[]): PortRange[] {
  const text = formatPortList([...a, ...b]);
  const parsed = parsePortList(text);
  return parsed.ok ? parsed.value : [...a, ...b];
}

function dropUndefined(o: { cpu: string | undefined; memory: string | undefined }): { cpu?: string; memory?: string } {
  const out: { cpu?: string; memory?: string } = {};
  if (o.cpu !== undefined) out.cpu = o.cpu;
  if (o.memory !== undefined) out.memory = o.memory;
  return out;
}
