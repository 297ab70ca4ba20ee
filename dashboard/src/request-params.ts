// The dashboard API's query parameters, each validated once where it enters: bad input
// is a 400 with the reason, never an exception past the handler. Pure.
import { fail, ok, type Result } from "../../lib/result.ts";
import { parseTarget, parseWindow, type Target } from "../../cli/src/prom-queries.ts";
import { MAX_TAP_RPS } from "../../lib/tap-contract.ts";
import type { TapQuery } from "./contract.ts";

/** History a workload page may ask for, in seconds: 5 minutes to a day. */
export const MIN_RANGE = 300;
export const MAX_RANGE = 86_400;
/** Points per chart: the step is the range over this, at least 5 s. */
export const POINTS = 120;

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

type Query = Record<string, unknown>;

function text(q: Query, key: string): string | undefined {
  const v = q[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

export function windowParam(q: Query, fallback: string): Result<string> {
  const w = parseWindow(text(q, "window") ?? fallback);
  return w.ok ? ok(w.value) : fail("bad-request", w.message);
}

export function namespacesParam(q: Query): Result<string[]> {
  const raw = text(q, "ns");
  if (raw === undefined) return ok([]);
  const list = raw.split(",").filter((s) => s !== "");
  const bad = list.find((n) => !NAME.test(n));
  return bad === undefined ? ok(list) : fail("bad-request", `"${bad}" is not a namespace name`);
}

export function rangeParam(q: Query): Result<{ range: number; step: number }> {
  const raw = text(q, "range") ?? "3600";
  const range = Number(raw);
  if (!Number.isInteger(range) || range < MIN_RANGE || range > MAX_RANGE) return fail("bad-request", `range must be whole seconds from ${MIN_RANGE} to ${MAX_RANGE}, not "${raw}"`);
  return ok({ range, step: Math.max(5, Math.ceil(range / POINTS)) });
}

/** /api/stat/:namespace/:kind/:name: deploy, pod or svc, as `weft stat` takes them. */
export function targetParam(namespace: string, kind: string, name: string): Result<Target> {
  if (!NAME.test(namespace)) return fail("bad-request", `"${namespace}" is not a namespace name`);
  if (!["deploy", "pod", "svc"].includes(kind)) return fail("bad-request", `"${kind}" is not deploy, pod or svc`);
  const t = parseTarget(`${kind}/${name}`, namespace);
  return t.ok ? ok(t.value) : fail("bad-request", t.message);
}

export function tapParam(q: Query): Result<TapQuery> {
  const resource = text(q, "resource");
  const namespace = text(q, "namespace");
  if (resource === undefined || namespace === undefined) return fail("bad-request", "tap needs resource (pod/NAME, deploy/NAME, svc/NAME or ns/NAME) and namespace");
  if (!NAME.test(namespace)) return fail("bad-request", `"${namespace}" is not a namespace name`);
  const out: TapQuery = { resource, namespace };
  const to = text(q, "to");
  const method = text(q, "method");
  const path = text(q, "path");
  const maxRps = text(q, "maxRps");
  if (to !== undefined) out.to = to;
  if (method !== undefined) out.method = method;
  if (path !== undefined) out.path = path;
  if (maxRps !== undefined) {
    const n = Number(maxRps);
    if (!Number.isFinite(n) || n <= 0 || n > MAX_TAP_RPS) return fail("bad-request", `maxRps must be a number in (0, ${MAX_TAP_RPS}]`);
    out.maxRps = n;
  }
  return ok(out);
}
