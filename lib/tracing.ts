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
import { OTLPTraceExporter as OtlpGrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as OtlpHttpExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { silentLogger, type Logger } from "./log.ts";
import { CountingBatchProcessor, CountingExporter, type ExportStats } from "./tracing-export.ts";
import type { TracingConfig, TracingExportConfig, TracingResource } from "./tracing-config.ts";
import { WeftPropagator } from "./tracing-propagator.ts";

export * from "./tracing-config.ts";
export type { ExportStats } from "./tracing-export.ts";

// Incubating semantic conventions are copied, not imported, as the
// semantic-conventions package recommends for unstable names.
export const ATTR_K8S_NAMESPACE_NAME = "k8s.namespace.name";
export const ATTR_K8S_POD_NAME = "k8s.pod.name";

export interface Tracing {
  /** False when no endpoint is configured: the tracer is a no-op and callers may skip header work. */
  readonly enabled: boolean;
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
  /** Spans lost: queue full (backend slow or down) plus batches the backend failed. */
  droppedSpans(): number;
  stats(): ExportStats;
  /** Exports what is queued now (tests, and before a planned exit). */
  forceFlush(): Promise<void>;
  /** Flushes and stops; idempotent. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  logger?: Logger;
  /** Instrumentation scope name of the tracer (e.g. "weft-proxy"). */
  scope?: string;
  /** Replaces the OTLP exporter (tests, or an in-memory exporter for benchmarks). */
  exporter?: SpanExporter;
}

function resourceAttributes(r: TracingResource): Attributes {
  const attrs: Attributes = { ...r.attributes, [ATTR_SERVICE_NAME]: r.serviceName };
  if (r.namespace) attrs[ATTR_K8S_NAMESPACE_NAME] = r.namespace;
  if (r.podName) attrs[ATTR_K8S_POD_NAME] = r.podName;
  return attrs;
}

function otlpExporter(e: TracingExportConfig): SpanExporter {
  // A small concurrency limit keeps memory bounded when the backend hangs:
  // at most this many batches wait on the network besides the queue.
  const common = { url: e.endpoint, timeoutMillis: e.exportTimeoutMillis, concurrencyLimit: 2 };
  return e.protocol === "grpc" ? new OtlpGrpcExporter(common) : new OtlpHttpExporter(common);
}

const ZERO_STATS: ExportStats = { queued: 0, inFlight: 0, exported: 0, droppedQueueFull: 0, droppedExportFailed: 0 };

export function createTracing(config: TracingConfig, options: TracingOptions = {}): Tracing {
  const log = (options.logger ?? silentLogger()).child({ subsystem: "tracing" });
  const scope = options.scope ?? "weft";
  const propagator = new WeftPropagator(config.propagation);

  if (!config.export && !options.exporter) {
    // A fresh ProxyTracerProvider without a delegate hands out the API's no-op
    // tracer, independent of any global registration.
    const tracer = new ProxyTracerProvider().getTracer(scope);
    return {
      enabled: false,
      tracer,
      propagator,
      droppedSpans: () => 0,
      stats: () => ({ ...ZERO_STATS }),
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
  }

  const exportConfig: TracingExportConfig = config.export ?? {
    endpoint: "",
    protocol: "grpc",
    maxQueueSize: 2048,
    maxExportBatchSize: 512,
    scheduledDelayMillis: 1000,
    exportTimeoutMillis: 10_000,
  };
  const exporter = new CountingExporter(options.exporter ?? otlpExporter(exportConfig), log);
  const processor = new CountingBatchProcessor(exporter, {
    maxQueueSize: exportConfig.maxQueueSize,
    maxExportBatchSize: exportConfig.maxExportBatchSize,
    scheduledDelayMillis: exportConfig.scheduledDelayMillis,
    // The processor gives up slightly after the exporter's own deadline.
    exportTimeoutMillis: exportConfig.exportTimeoutMillis + 1000,
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(resourceAttributes(config.resource)),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.samplingRatio) }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer(scope);
  if (!options.exporter) {
    // The OTLP exporters load their transport (grpc-js, protobuf, http agents)
    // on the first export, blocking the event loop for a noticeable moment;
    // an empty export now pays that at start-up instead of on the request path,
    // and logs early when the backend is unreachable.
    exporter.export([], () => undefined);
  }
  let shutdownPromise: Promise<void> | undefined;
  log.info(
    { endpoint: exportConfig.endpoint, protocol: exportConfig.protocol, samplingRatio: config.samplingRatio, propagation: config.propagation },
    "tracing enabled",
  );

  return {
    enabled: true,
    tracer,
    propagator,
    droppedSpans: () => {
      const s = processor.stats();
      return s.droppedQueueFull + s.droppedExportFailed;
    },
    stats: () => processor.stats(),
    forceFlush: () => provider.forceFlush().catch((err: unknown) => log.warn({ err: String(err) }, "trace flush failed")),
    shutdown: () => {
      shutdownPromise ??= provider.shutdown().catch((err: unknown) => log.warn({ err: String(err) }, "trace shutdown failed"));
      return shutdownPromise;
    },
  };
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
