// The wire formats the proxy reads and writes without the OpenTelemetry SDK:
// every accepted form, every refused one, and what is written back.
import assert from "node:assert/strict";
import { B3Propagator } from "@opentelemetry/propagator-b3";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { ROOT_CONTEXT, defaultTextMapGetter, trace } from "@opentelemetry/api";
import { newSpanId, newTraceId, parseTraceparent, readTraceContext, writeTraceContext, type HeaderBag } from "../../lib/trace-context.ts";

const T = "4bf92f3577b34da6a3ce929d0e0e4736";
const S = "00f067aa0ba902b7";

describe("trace context on the wire", () => {
  describe("reading", () => {
    const accepted: [string, HeaderBag, { traceId: string; spanId: string; sampled: boolean | undefined; traceState?: string }][] = [
      ["W3C sampled", { traceparent: `00-${T}-${S}-01` }, { traceId: T, spanId: S, sampled: true }],
      ["W3C unsampled", { traceparent: `00-${T}-${S}-00` }, { traceId: T, spanId: S, sampled: false }],
      ["W3C with other flag bits", { traceparent: `00-${T}-${S}-03` }, { traceId: T, spanId: S, sampled: true }],
      ["W3C with tracestate", { traceparent: `00-${T}-${S}-01`, tracestate: "a=1,b=2" }, { traceId: T, spanId: S, sampled: true, traceState: "a=1,b=2" }],
      ["W3C with tracestate in two headers", { traceparent: `00-${T}-${S}-01`, tracestate: ["a=1", "b=2"] }, { traceId: T, spanId: S, sampled: true, traceState: "a=1,b=2" }],
      ["W3C future version with an extra field", { traceparent: `01-${T}-${S}-01-what-ever` }, { traceId: T, spanId: S, sampled: true }],
      ["W3C surrounded by spaces", { traceparent: ` 00-${T}-${S}-01 ` }, { traceId: T, spanId: S, sampled: true }],
      ["B3 single", { b3: `${T}-${S}-1` }, { traceId: T, spanId: S, sampled: true }],
      ["B3 single, debug", { b3: `${T}-${S}-d` }, { traceId: T, spanId: S, sampled: true }],
      ["B3 single, unsampled, with parent", { b3: `${T}-${S}-0-${S}` }, { traceId: T, spanId: S, sampled: false }],
      ["B3 single, deferred", { b3: `${T}-${S}` }, { traceId: T, spanId: S, sampled: undefined }],
      ["B3 single, 64-bit trace id", { b3: `${T.slice(16)}-${S}-1` }, { traceId: "0".repeat(16) + T.slice(16), spanId: S, sampled: true }],
      ["B3 multi", { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "1" }, { traceId: T, spanId: S, sampled: true }],
      ["B3 multi, sampled as true", { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "true" }, { traceId: T, spanId: S, sampled: true }],
      ["B3 multi, debug flag", { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-flags": "1" }, { traceId: T, spanId: S, sampled: true }],
      ["B3 multi, deferred", { "x-b3-traceid": T, "x-b3-spanid": S }, { traceId: T, spanId: S, sampled: undefined }],
      ["B3 multi, unsampled", { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "0" }, { traceId: T, spanId: S, sampled: false }],
    ];
    for (const [name, headers, want] of accepted) {
      it(`reads ${name}`, () => {
        assert.deepEqual(readTraceContext(headers), { kind: "context", context: want });
      });
    }

    const refused: [string, HeaderBag][] = [
      ["nothing", {}],
      ["a short traceparent", { traceparent: "zz" }],
      ["upper-case hex", { traceparent: `00-${T.toUpperCase()}-${S}-01` }],
      ["version ff", { traceparent: `ff-${T}-${S}-01` }],
      ["version 00 with an extra field", { traceparent: `00-${T}-${S}-01-extra` }],
      ["a future version glued to more text", { traceparent: `01-${T}-${S}-01x` }],
      ["an all-zero trace id", { traceparent: `00-${"0".repeat(32)}-${S}-01` }],
      ["an all-zero span id", { traceparent: `00-${T}-${"0".repeat(16)}-01` }],
      ["two traceparent headers", { traceparent: [`00-${T}-${S}-01`, `00-${T}-${S}-01`] }],
      ["a B3 single header of dashes", { b3: "-" }],
      ["B3 single with a bad sampling state", { b3: `${T}-${S}-x` }],
      ["B3 single with too many fields", { b3: `${T}-${S}-1-${S}-1` }],
      ["B3 single with a 20-digit trace id", { b3: `${T.slice(12)}-${S}-1` }],
      ["B3 multi with a bad trace id", { "x-b3-traceid": "nothex", "x-b3-spanid": S }],
      ["B3 multi without a span id", { "x-b3-traceid": T }],
    ];
    for (const [name, headers] of refused) {
      it(`treats ${name} as no context`, () => {
        assert.equal(readTraceContext(headers).kind, "none");
      });
    }

    it("a lone sampling decision is kept without ids", () => {
      assert.deepEqual(readTraceContext({ b3: "0" }), { kind: "decision", sampled: false });
      assert.deepEqual(readTraceContext({ b3: "d" }), { kind: "decision", sampled: true });
      assert.deepEqual(readTraceContext({ "x-b3-sampled": "0" }), { kind: "decision", sampled: false });
    });

    it("a valid traceparent wins over B3; an invalid one falls back to B3", () => {
      const other = "11111111111111111111111111111111";
      const both = readTraceContext({ traceparent: `00-${T}-${S}-01`, b3: `${other}-${S}-0` });
      assert.equal(both.kind === "context" && both.context.traceId, T);
      const fallback = readTraceContext({ traceparent: "garbage", b3: `${other}-${S}-0` });
      assert.equal(fallback.kind === "context" && fallback.context.traceId, other);
    });

    it("agrees with the OpenTelemetry propagators on every accepted sampled/unsampled form", () => {
      // Deferred B3 has no OpenTelemetry equivalent, so those rows are left out.
      const w3c = new W3CTraceContextPropagator();
      const b3 = new B3Propagator();
      for (const [name, headers, want] of accepted) {
        if (want.sampled === undefined || name.includes("two headers")) continue;
        const viaOtel = trace.getSpanContext((name.startsWith("W3C") ? w3c : b3).extract(ROOT_CONTEXT, headers, defaultTextMapGetter));
        assert.ok(viaOtel, name);
        assert.equal(viaOtel.traceId, want.traceId, name);
        assert.equal(viaOtel.spanId, want.spanId, name);
        assert.equal((viaOtel.traceFlags & 1) === 1, want.sampled, name);
      }
    });

    it("parseTraceparent rejects every single-character corruption of a valid header", () => {
      const valid = `00-${T}-${S}-01`;
      for (let i = 0; i < valid.length; i++) {
        const bad = valid.slice(0, i) + "g" + valid.slice(i + 1);
        assert.equal(parseTraceparent(bad), undefined, bad);
      }
    });
  });

  describe("writing", () => {
    it("writes W3C and B3 multi, replacing every trace header that came in", () => {
      const headers: HeaderBag = { b3: `${T}-${S}-1`, "x-b3-parentspanid": S, "x-b3-flags": "1", tracestate: "old=1", accept: "*/*" };
      writeTraceContext(headers, { traceId: T, spanId: S, sampled: false }, ["tracecontext", "b3multi"]);
      assert.deepEqual(headers, { accept: "*/*", traceparent: `00-${T}-${S}-00`, "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "0" });
    });

    it("writes B3 single and carries tracestate with traceparent", () => {
      const headers: HeaderBag = {};
      writeTraceContext(headers, { traceId: T, spanId: S, sampled: true, traceState: "k=v" }, ["b3", "tracecontext"]);
      assert.deepEqual(headers, { b3: `${T}-${S}-1`, traceparent: `00-${T}-${S}-01`, tracestate: "k=v" });
    });

    it("what it writes reads back the same", () => {
      for (const format of ["tracecontext", "b3", "b3multi"] as const) {
        for (const sampled of [true, false]) {
          const headers: HeaderBag = {};
          writeTraceContext(headers, { traceId: T, spanId: S, sampled }, [format]);
          assert.deepEqual(readTraceContext(headers), { kind: "context", context: { traceId: T, spanId: S, sampled } }, `${format} ${sampled}`);
        }
      }
    });
  });

  it("new ids are valid, lower-case hex and distinct", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const t = newTraceId();
      const s = newSpanId();
      assert.match(t, /^[0-9a-f]{32}$/);
      assert.match(s, /^[0-9a-f]{16}$/);
      assert.ok(!seen.has(t) && !seen.has(s));
      seen.add(t);
      seen.add(s);
    }
  });
});
