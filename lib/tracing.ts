// Tracing for Weft's own processes (the proxy and the control plane): explicit
// tracers from the OpenTelemetry SDK, never the global auto-instrumentation,
// because the proxy's own HTTP and gRPC calls must not become spans of the
// traces it carries (see docs/decisions.md). Callers pass contexts explicitly;
// no global tracer provider, propagator or context manager is installed.
import {
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapPropagator,
  type Tracer,
} from "@opentelemetry/api";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import { silentLogger, type Logger } from "./log.ts";
import type { ExportStats } from "./tracing-export.ts";
import type { TracingConfig } from "./tracing-config.ts";
import type { Tracing } from "./tracing-handle.ts";

export * from "./tracing-config.ts";
export type { ExportStats, Tracing };

export interface TracingOptions {
  logger?: Logger;
  /** Instrumentation scope name of the tracer (e.g. "weft-proxy"). */
  scope?: string;
  /** Replaces the OTLP exporter (tests, or an in-memory exporter for benchmarks). */
  exporter?: SpanExporter;
  /**
   * Who decides whether a new trace is recorded. "ratio" (default): the SDK's
   * sampler, by the configured ratio. "caller": the caller decided before it
   * asked for a root span, so the SDK records every root span it is asked
   * for; the proxy does this so unsampled requests never touch the SDK.
   */
  rootSampling?: "ratio" | "caller";
}

/** Off, headers pass untouched: an app that forwards its own trace headers still gets one trace. */
const NO_PROPAGATION: TextMapPropagator = { inject: () => undefined, extract: (ctx) => ctx, fields: () => [] };

const ZERO_STATS: ExportStats = { queued: 0, inFlight: 0, exported: 0, droppedQueueFull: 0, droppedExportFailed: 0 };

/**
 * Tracing from its configuration. Off (no endpoint, no exporter): the API's
 * no-op tracer and no propagation, and none of the SDK is loaded: it, the
 * propagators and the OTLP exporters cost a proxy 15-25 MB of RSS, which the
 * default (off) should not pay.
 */
export async function createTracing(config: TracingConfig, options: TracingOptions = {}): Promise<Tracing> {
  if (!config.export && !options.exporter) {
    // A fresh ProxyTracerProvider without a delegate hands out the API's no-op
    // tracer, independent of any global registration.
    const tracer = new ProxyTracerProvider().getTracer(options.scope ?? "weft");
    return {
      enabled: false,
      tracer,
      propagator: NO_PROPAGATION,
      samplingRatio: 0,
      propagation: [],
      rootSampling: options.rootSampling ?? "ratio",
      droppedSpans: () => 0,
      stats: () => ({ ...ZERO_STATS }),
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
  }
  const { createSdkTracing } = await import("./tracing-sdk.ts");
  return createSdkTracing(config, {
    logger: options.logger ?? silentLogger(),
    scope: options.scope ?? "weft",
    testExporter: options.exporter,
    rootSampling: options.rootSampling ?? "ratio",
  });
}

/**
 * Runs `work` inside a span (for the control plane's own operations: certificate
 * issuance, snapshot pushes). The span records the error and is ended however
 * `work` finishes; the error is rethrown unchanged.
 */
export async function inSpan<T>(
  tracer: Tracer,
  name: string,
  attributes: Attributes,
  work: (span: Span, ctx: Context) => Promise<T> | T,
  parent: Context = ROOT_CONTEXT,
): Promise<T> {
  const span = tracer.startSpan(name, { attributes }, parent);
  try {
    return await work(span, trace.setSpan(parent, span));
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    throw err;
  } finally {
    span.end();
  }
}
