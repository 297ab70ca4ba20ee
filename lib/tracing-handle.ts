// The handle a Weft process holds for its tracing, whichever way
// lib/tracing.ts made it: the API's no-op tracer when tracing is off, or the
// SDK (lib/tracing-sdk.ts) when an endpoint is configured. Its own module so
// the SDK half can name it without importing lib/tracing.ts, which loads the
// SDK half.
import type { TextMapPropagator, Tracer } from "@opentelemetry/api";
import type { PropagationFormat } from "./tracing-config.ts";
import type { ExportStats } from "./tracing-export.ts";

export interface Tracing {
  /** False when no endpoint is configured: the tracer is a no-op and callers may skip header work. */
  readonly enabled: boolean;
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
  /** Share of new traces to record (the configured ratio; 0 when off). */
  readonly samplingRatio: number;
  /** Formats written on forwarded requests (none when off). */
  readonly propagation: readonly PropagationFormat[];
  /** See TracingOptions.rootSampling (lib/tracing.ts). */
  readonly rootSampling: "ratio" | "caller";
  /** Spans lost: queue full (backend slow or down) plus batches the backend failed. */
  droppedSpans(): number;
  stats(): ExportStats;
  /** Exports what is queued now (tests, and before a planned exit). */
  forceFlush(): Promise<void>;
  /** Flushes and stops; idempotent. */
  shutdown(): Promise<void>;
}
