// The export path of finished spans: the SDK's BatchSpanProcessor (bounded
// queue, batches on a timer) in front of an OTLP exporter, with counters around
// both so the proxy can report what it dropped. The SDK drops spans silently
// when its queue is full; mirroring its queue length from the outside (spans
// handed in minus spans taken for export) counts those drops exactly without
// reaching into its private fields.
import type { Context } from "@opentelemetry/api";
import { TraceFlags } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { BatchSpanProcessor, type ReadableSpan, type Span, type SpanExporter, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Logger } from "./log.ts";

export interface ExportStats {
  /** Finished sampled spans waiting in the queue. */
  queued: number;
  /** Spans handed to the exporter whose export has not finished yet. */
  inFlight: number;
  /** Spans the backend acknowledged. */
  exported: number;
  /** Spans dropped because the queue was full (backend slow or down). */
  droppedQueueFull: number;
  /** Spans in batches the backend refused or that timed out. */
  droppedExportFailed: number;
}

/** Counts outcomes of exports and logs when the backend goes from healthy to failing and back. */
export class CountingExporter implements SpanExporter {
  taken = 0;
  inFlight = 0;
  exported = 0;
  failed = 0;
  private failing = false;
  private readonly inner: SpanExporter;
  private readonly log: Logger;

  constructor(inner: SpanExporter, log: Logger) {
    this.inner = inner;
    this.log = log;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const n = spans.length;
    this.taken += n;
    this.inFlight += n;
    let settled = false;
    const done = (result: ExportResult): void => {
      if (settled) return;
      settled = true;
      this.inFlight -= n;
      if (result.code === ExportResultCode.SUCCESS) {
        this.exported += n;
        if (this.failing) this.log.info({ spans: n }, "trace export recovered");
        this.failing = false;
      } else {
        this.failed += n;
        if (!this.failing) {
          this.log.warn({ spans: n, err: result.error?.message }, "trace export failing; spans are dropped until the backend recovers");
        }
        this.failing = true;
      }
      resultCallback(result);
    };
    try {
      this.inner.export(spans, done);
    } catch (err) {
      done({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

export interface BatchOptions {
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  exportTimeoutMillis: number;
}

/** A BatchSpanProcessor whose drops (queue full) are counted. */
export class CountingBatchProcessor implements SpanProcessor {
  private handed = 0;
  private droppedQueueFull = 0;
  private readonly inner: BatchSpanProcessor;
  private readonly exporter: CountingExporter;
  private readonly maxQueueSize: number;

  constructor(exporter: CountingExporter, options: BatchOptions) {
    this.exporter = exporter;
    this.maxQueueSize = options.maxQueueSize;
    this.inner = new BatchSpanProcessor(exporter, { ...options });
  }

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    // Same admission rule as the SDK's buffer: only sampled spans, and only
    // while fewer than maxQueueSize wait.
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.handed - this.exporter.taken >= this.maxQueueSize) {
      this.droppedQueueFull++;
      return;
    }
    this.handed++;
    this.inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  stats(): ExportStats {
    return {
      queued: this.handed - this.exporter.taken,
      inFlight: this.exporter.inFlight,
      exported: this.exporter.exported,
      droppedQueueFull: this.droppedQueueFull,
      droppedExportFailed: this.exporter.failed,
    };
  }
}
