// A route filter (rule-level or on one backendRef) to its wire form. The five
// filters Gateway API defines for HTTPRoute and GRPCRoute are supported; any
// other type (ExtensionRef, CORS, ExternalAuth, anything newer) is refused
// with UnsupportedValue, and the rule that carries it answers 500 rather than
// routing as if the filter were not there (the spec forbids skipping a filter).
import type { HeaderModifier } from "../../api/gen/weft/discovery/v1/HeaderModifier.ts";
import type { PathModifier } from "../../api/gen/weft/discovery/v1/PathModifier.ts";
import type { RouteFilter } from "../../api/gen/weft/discovery/v1/RouteFilter.ts";
import { integer, list, record, resolveServiceRef, text, type RefContext, type RefProblem } from "./routes-refs.ts";

export type FilterRead =
  | { ok: true; filter: RouteFilter }
  /** The filter cannot apply: the rule answers 500 and ResolvedRefs says why. */
  | { ok: false; unsupported: true; problem: RefProblem }
  /** A value the schema should have refused: the route is not accepted. */
  | { ok: false; unsupported: false; problem: RefProblem };

/** The statuses the CRD's enum allows (301 and 302 Core, the others Extended); the proxy answers each. */
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

export function readFilter(raw: unknown, ctx: RefContext): FilterRead {
  const f = record(raw) ?? {};
  const type = text(f.type) ?? "";
  switch (type) {
    case "RequestHeaderModifier":
      return { ok: true, filter: { requestHeaderModifier: headerModifier(f.requestHeaderModifier) } };
    case "ResponseHeaderModifier":
      return { ok: true, filter: { responseHeaderModifier: headerModifier(f.responseHeaderModifier) } };
    case "RequestRedirect": {
      const r = record(f.requestRedirect) ?? {};
      const status = integer(r.statusCode) ?? 302;
      if (!REDIRECT_STATUSES.has(status)) return invalid(`RequestRedirect statusCode ${status}: only 301, 302, 303, 307 and 308 are supported`);
      return {
        ok: true,
        filter: { requestRedirect: { scheme: text(r.scheme) ?? "", hostname: text(r.hostname) ?? "", port: integer(r.port) ?? 0, path: pathModifier(r.path), statusCode: status } },
      };
    }
    case "URLRewrite": {
      const r = record(f.urlRewrite) ?? {};
      return { ok: true, filter: { urlRewrite: { hostname: text(r.hostname) ?? "", path: pathModifier(r.path) } } };
    }
    case "RequestMirror": {
      const r = record(f.requestMirror) ?? {};
      const target = resolveServiceRef(r.backendRef, ctx);
      if (!target.ok) return { ok: false, unsupported: true, problem: target.problem };
      const percent = mirrorPercent(r);
      if (percent === null) return invalid("RequestMirror: percent must be 0-100, and fraction a numerator no larger than a positive denominator");
      return { ok: true, filter: { requestMirror: { service: target.service, port: target.port, percent } } };
    }
    default:
      return { ok: false, unsupported: true, problem: { reason: "UnsupportedValue", message: `filter type ${JSON.stringify(type)} is not supported by Weft` } };
  }
}

function invalid(message: string): FilterRead {
  return { ok: false, unsupported: false, problem: { reason: "UnsupportedValue", message } };
}

function headerModifier(raw: unknown): HeaderModifier {
  const m = record(raw) ?? {};
  const pairs = (x: unknown) =>
    list(x).flatMap((p) => {
      const r = record(p);
      const name = text(r?.name);
      return name ? [{ name: name.toLowerCase(), value: text(r?.value) ?? "" }] : [];
    });
  return { set: pairs(m.set), add: pairs(m.add), remove: list(m.remove).flatMap((n) => (typeof n === "string" ? [n.toLowerCase()] : [])) };
}

function pathModifier(raw: unknown): PathModifier | null {
  const p = record(raw);
  if (!p) return null;
  const type = text(p.type);
  if (type === "ReplaceFullPath") return { type: "REPLACE_FULL_PATH", value: text(p.replaceFullPath) ?? "" };
  if (type === "ReplacePrefixMatch") return { type: "REPLACE_PREFIX_MATCH", value: text(p.replacePrefixMatch) ?? "" };
  return null;
}

/** `percent`, or `fraction` as a percentage; 100 when neither is set. Null when out of range. */
function mirrorPercent(r: Record<string, unknown>): number | null {
  const percent = integer(r.percent);
  if (percent !== undefined) return percent >= 0 && percent <= 100 ? percent : null;
  const fraction = record(r.fraction);
  if (!fraction) return 100;
  const numerator = integer(fraction.numerator) ?? 0;
  const denominator = integer(fraction.denominator) ?? 100;
  if (denominator <= 0 || numerator < 0 || numerator > denominator) return null;
  return (numerator / denominator) * 100;
}
