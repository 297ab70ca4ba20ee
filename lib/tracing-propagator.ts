// Reads every trace-context format Weft understands and writes the configured
// ones. Apps in a mesh forward whatever headers their own libraries know (W3C or
// Zipkin's B3, single or multi-header); reading all of them lets every hop join
// one trace, and writing several lets the next app find one it forwards.
import type { Context, TextMapGetter, TextMapPropagator, TextMapSetter } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  B3InjectEncoding,
  B3Propagator,
  B3_CONTEXT_HEADER,
  X_B3_FLAGS,
  X_B3_PARENT_SPAN_ID,
  X_B3_SAMPLED,
  X_B3_SPAN_ID,
  X_B3_TRACE_ID,
} from "@opentelemetry/propagator-b3";
import type { PropagationFormat } from "./tracing-config.ts";

function propagatorFor(format: PropagationFormat): TextMapPropagator {
  switch (format) {
    case "tracecontext":
      return new W3CTraceContextPropagator();
    case "b3":
      return new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER });
    case "b3multi":
      return new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER });
  }
}

/**
 * Extraction runs B3 (which reads the single `b3` header, then the `x-b3-*`
 * set) before W3C, so when a request carries both, `traceparent` wins: the
 * standard format is the one a caller most deliberately set. Injection writes
 * exactly the configured formats.
 */
export class WeftPropagator implements TextMapPropagator {
  private readonly extractors: TextMapPropagator[];
  private readonly injectors: TextMapPropagator[];
  private readonly allFields: readonly string[];

  constructor(inject: readonly PropagationFormat[]) {
    this.extractors = [new B3Propagator(), new W3CTraceContextPropagator()];
    this.injectors = inject.map(propagatorFor);
    const all = new Set<string>([B3_CONTEXT_HEADER, X_B3_TRACE_ID, X_B3_SPAN_ID, X_B3_SAMPLED, X_B3_PARENT_SPAN_ID, X_B3_FLAGS]);
    for (const p of [...this.extractors, ...this.injectors]) for (const f of p.fields()) all.add(f);
    this.allFields = [...all];
  }

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    for (const p of this.injectors) p.inject(context, carrier, setter);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    let ctx = context;
    for (const p of this.extractors) ctx = p.extract(ctx, carrier, getter);
    return ctx;
  }

  /** Every header this propagator may read or write, in every format (to strip them before injecting). */
  fields(): string[] {
    return [...this.allFields];
  }
}
