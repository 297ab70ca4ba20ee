// The control plane's one Prometheus registry. Each service registers its own
// metrics on it through its create*Metrics(registry) factory; add new services
// here so /metrics shows them all.
import { Registry, collectDefaultMetrics } from "prom-client";
import { createIdentityMetrics, type IdentityMetrics } from "./identity-metrics.ts";

export interface ControlPlaneMetrics {
  registry: Registry;
  identity: IdentityMetrics;
}

export function createControlPlaneMetrics(options: { processMetrics?: boolean } = {}): ControlPlaneMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "weft_control_plane_" });
  return { registry, identity: createIdentityMetrics(registry) };
}
