// Prometheus view of a process's span export: counts read from the Tracing's
// counters at scrape time, so the hot path pays nothing for them. One call per
// registry; `prefix` is the process's (weft_proxy_, weft_control_plane_).
import { Gauge, type Registry } from "prom-client";
import type { Tracing } from "./tracing.ts";

export function registerTracingMetrics(registry: Registry, tracing: Tracing, prefix: string): void {
  const registers = [registry];
  // Monotonic counts exposed through collect(): prom-client Counters cannot be set.
  new Gauge({
    name: `${prefix}trace_spans_total`,
    help: "Finished sampled spans by outcome: exported, dropped_queue_full (backend slow or down), dropped_export_failed",
    labelNames: ["outcome"],
    registers,
    collect() {
      const s = tracing.stats();
      this.set({ outcome: "exported" }, s.exported);
      this.set({ outcome: "dropped_queue_full" }, s.droppedQueueFull);
      this.set({ outcome: "dropped_export_failed" }, s.droppedExportFailed);
    },
  });
  new Gauge({
    name: `${prefix}trace_spans_queued`,
    help: "Finished spans waiting for export or on the wire",
    registers,
    collect() {
      const s = tracing.stats();
      this.set(s.queued + s.inFlight);
    },
  });
}
