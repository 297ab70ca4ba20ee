// Tracing switched on: the OpenTelemetry SDK's provider with Weft's counting
// batch processor and an OTLP exporter. lib/tracing.ts loads this module only
// when an endpoint (or a test's exporter) is configured.
import type { Attributes } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { AlwaysOnSampler, BasicTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { Logger } from "./log.ts";
import { CountingBatchProcessor, CountingExporter } from "./tracing-export.ts";
import {
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_POD_NAME,
  TRACING_DEFAULTS,
  type TracingConfig,
  type TracingExportConfig,
  type TracingResource,
} from "./tracing-config.ts";
import type { Tracing } from "./tracing-handle.ts";
import { WeftPropagator } from "./tracing-propagator.ts";

function resourceAttributes(r: TracingResource): Attributes {
  const attrs: Attributes = { ...r.attributes, [ATTR_SERVICE_NAME]: r.serviceName };
  if (r.namespace) attrs[ATTR_K8S_NAMESPACE_NAME] = r.namespace;
  if (r.podName) attrs[ATTR_K8S_POD_NAME] = r.podName;
  return attrs;
}

/** Only the configured protocol's exporter is loaded: each brings its own transport. */
async function otlpExporter(e: TracingExportConfig): Promise<SpanExporter> {
  // A small concurrency limit keeps memory bounded when the backend hangs:
  // at most this many batches wait on the network besides the queue.
  const common = { url: e.endpoint, timeoutMillis: e.exportTimeoutMillis, concurrencyLimit: 2 };
  if (e.protocol === "grpc") return new (await import("@opentelemetry/exporter-trace-otlp-grpc")).OTLPTraceExporter(common);
  return new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter(common);
}

export interface SdkTracingOptions {
  logger: Logger;
  scope: string;
  testExporter: SpanExporter | undefined;
  rootSampling: "ratio" | "caller";
}

export async function createSdkTracing(config: TracingConfig, options: SdkTracingOptions): Promise<Tracing> {
  const { logger, scope, testExporter } = options;
  const log = logger.child({ subsystem: "tracing" });
  const propagator = new WeftPropagator(config.propagation);
  const exportConfig: TracingExportConfig = config.export ?? {
    endpoint: "",
    protocol: TRACING_DEFAULTS.protocol,
    maxQueueSize: TRACING_DEFAULTS.maxQueueSize,
    maxExportBatchSize: TRACING_DEFAULTS.maxExportBatchSize,
    scheduledDelayMillis: TRACING_DEFAULTS.scheduledDelayMillis,
    exportTimeoutMillis: TRACING_DEFAULTS.exportTimeoutMillis,
  };
  const exporter = new CountingExporter(testExporter ?? (await otlpExporter(exportConfig)), log);
  const processor = new CountingBatchProcessor(exporter, {
    maxQueueSize: exportConfig.maxQueueSize,
    maxExportBatchSize: exportConfig.maxExportBatchSize,
    scheduledDelayMillis: exportConfig.scheduledDelayMillis,
    // The processor gives up slightly after the exporter's own deadline.
    exportTimeoutMillis: exportConfig.exportTimeoutMillis + 1000,
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(resourceAttributes(config.resource)),
    sampler: new ParentBasedSampler({ root: options.rootSampling === "caller" ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(config.samplingRatio) }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer(scope);
  if (!testExporter) {
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
    samplingRatio: config.samplingRatio,
    propagation: config.propagation,
    rootSampling: options.rootSampling,
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
