// The OpenTelemetry TextMapPropagator face of lib/trace-context.ts, for code
// that works with OpenTelemetry contexts: it reads every format Weft
// understands and writes the configured ones, with exactly the rules the
// proxy's own fast path applies (one parser, so the two cannot disagree).
import {
  ROOT_CONTEXT,
  TraceFlags,
  createTraceState,
  trace,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from "@opentelemetry/api";
import { TRACE_HEADERS, readTraceContext, writeTraceContext, type HeaderBag, type WireContext } from "./trace-context.ts";
import type { PropagationFormat } from "./tracing-config.ts";

/** `wire` as the remote parent of whatever span is started in the returned context. */
export function withRemoteParent(wire: WireContext, sampled: boolean, context: Context = ROOT_CONTEXT): Context {
  return trace.setSpanContext(context, {
    traceId: wire.traceId,
    spanId: wire.spanId,
    traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
    ...(wire.traceState ? { traceState: createTraceState(wire.traceState) } : {}),
  });
}

export class WeftPropagator implements TextMapPropagator {
  readonly #formats: readonly PropagationFormat[];

  constructor(inject: readonly PropagationFormat[]) {
    this.#formats = inject;
  }

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const sc = trace.getSpanContext(context);
    if (!sc || !trace.isSpanContextValid(sc)) return;
    const out: HeaderBag = {};
    const traceState = sc.traceState?.serialize();
    writeTraceContext(out, { traceId: sc.traceId, spanId: sc.spanId, sampled: (sc.traceFlags & TraceFlags.SAMPLED) !== 0, traceState }, this.#formats);
    for (const [name, value] of Object.entries(out)) if (typeof value === "string") setter.set(carrier, name, value);
  }

  /** A caller's deferred B3 decision arrives unsampled: the OpenTelemetry API has no "deferred" flag. */
  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const headers: HeaderBag = {};
    for (const name of TRACE_HEADERS) headers[name] = getter.get(carrier, name);
    const incoming = readTraceContext(headers);
    if (incoming.kind !== "context") return context;
    return withRemoteParent(incoming.context, incoming.context.sampled === true, context);
  }

  /** Every header this propagator may read or write, in every format (to strip them before injecting). */
  fields(): string[] {
    return [...TRACE_HEADERS];
  }
}
