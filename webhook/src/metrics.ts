// The webhook's Prometheus metrics, on a registry of its own (tests and the
// benchmark create several servers in one process).
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface WebhookMetrics {
  registry: Registry;
  /** One count per request, labelled with its decision or bad-input code. */
  admissions: Counter<"decision">;
  duration: Histogram<"decision">;
  reloads: Counter<"file" | "result">;
}

export function createWebhookMetrics(options: { defaultMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  return {
    registry,
    admissions: new Counter({ name: "weft_webhook_admissions_total", help: "Admission requests by decision code", labelNames: ["decision"], registers: [registry] }),
    duration: new Histogram({
      name: "weft_webhook_admission_duration_seconds",
      help: "Time from request body to response, by decision code",
      labelNames: ["decision"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5],
      registers: [registry],
    }),
    reloads: new Counter({ name: "weft_webhook_reloads_total", help: "Reloads of the configuration and the serving certificate", labelNames: ["file", "result"], registers: [registry] }),
  };
}
