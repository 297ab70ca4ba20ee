// A Service's routes (the snapshot's ServiceRoutes) compiled into the table
// the per-request decision reads: regexes compiled, prefixes normalized,
// weights summed, filters sorted by kind. Compiled once per ServiceRoutes
// object and kept weakly by it, so the discovery client's validate step (which
// NACKs a table that does not compile) and the request path share the work,
// and a table the proxy no longer holds goes with its snapshot.
import type { HeaderModifier__Output } from "../../../api/gen/weft/discovery/v1/HeaderModifier.ts";
import type { RequestMirror__Output } from "../../../api/gen/weft/discovery/v1/RequestMirror.ts";
import type { RequestRedirect__Output } from "../../../api/gen/weft/discovery/v1/RequestRedirect.ts";
import type { RouteFilter__Output } from "../../../api/gen/weft/discovery/v1/RouteFilter.ts";
import type { RouteRetry__Output } from "../../../api/gen/weft/discovery/v1/RouteRetry.ts";
import type { RouteValueMatch__Output } from "../../../api/gen/weft/discovery/v1/RouteValueMatch.ts";
import type { ServiceRoutes__Output } from "../../../api/gen/weft/discovery/v1/ServiceRoutes.ts";
import type { UrlRewrite__Output } from "../../../api/gen/weft/discovery/v1/UrlRewrite.ts";
import { fail, ok, type Result } from "../../../lib/result.ts";

/** A rule's or backend's filters by kind; at most one of each but mirrors (Gateway API allows several). */
export interface CompiledFilters {
  readonly requestHeaders: HeaderModifier__Output | undefined;
  readonly responseHeaders: HeaderModifier__Output | undefined;
  readonly redirect: RequestRedirect__Output | undefined;
  readonly rewrite: UrlRewrite__Output | undefined;
  readonly mirrors: readonly RequestMirror__Output[];
  /** None of the above: the request goes on untouched. */
  readonly empty: boolean;
}

export interface CompiledBackend {
  /** "namespace/name" of the backend Service. */
  readonly service: string;
  /** 0 = the port the client called. */
  readonly port: number;
  readonly weight: number;
  /** The control plane could not resolve it: its share is answered 500. */
  readonly invalid: boolean;
  readonly filters: CompiledFilters;
}

export interface CompiledRule {
  /** "namespace/name" of the route: the metrics' and spans' label. */
  readonly route: string;
  readonly name: string;
  readonly grpc: boolean;
  readonly backends: readonly CompiledBackend[];
  /** Sum of the backends' weights (invalid ones included: their share is a 500). */
  readonly totalWeight: number;
  readonly filters: CompiledFilters;
  /** undefined = unset (the Service's policy); 0 = off. */
  readonly requestTimeoutMs: number | undefined;
  readonly backendRequestTimeoutMs: number | undefined;
  readonly retry: RouteRetry__Output | null;
}

export interface CompiledValueMatch {
  readonly name: string;
  /** Exact value, or null when `regex` decides. */
  readonly value: string;
  readonly regex: RegExp | null;
}

export type CompiledPathMatch =
  | { readonly type: "any" }
  | { readonly type: "exact"; readonly value: string }
  /** `value` without its trailing slash ("" for "/"): it matches itself and whatever continues it with "/". */
  | { readonly type: "prefix"; readonly value: string }
  | { readonly type: "regex"; readonly regex: RegExp };

export interface CompiledGrpcMatch {
  readonly service: string;
  readonly method: string;
  /** Set when the match is by regular expression ("" matches any). */
  readonly serviceRegex: RegExp | null;
  readonly methodRegex: RegExp | null;
}

export interface CompiledMatch {
  /** 0 = every port of the Service. */
  readonly port: number;
  readonly rule: CompiledRule;
  readonly path: CompiledPathMatch;
  /** Upper-case, "" = any. */
  readonly method: string;
  readonly headers: readonly CompiledValueMatch[];
  readonly query: readonly CompiledValueMatch[];
  readonly grpc: CompiledGrpcMatch | null;
}

export interface RouteTable {
  readonly service: string;
  /** In precedence order: the first that matches wins. */
  readonly matches: readonly CompiledMatch[];
  /** Some match applies to every port. */
  readonly anyPort: boolean;
  /** The ports some match names. */
  readonly ports: ReadonlySet<number>;
}

const compiled = new WeakMap<ServiceRoutes__Output, RouteTable>();

/** The compiled table of `routes`, or why the proxy cannot use it (then the snapshot is NACKed). */
export function compileRoutesOnce(routes: ServiceRoutes__Output): Result<RouteTable, "bad-route"> {
  const held = compiled.get(routes);
  if (held) return ok(held);
  const table = compileRoutes(routes);
  if (table.ok) compiled.set(routes, table.value);
  return table;
}

/** The table compiled earlier for `routes` (by the validate step), compiled now if it was not. Per request: no allocation. */
export function routeTableOf(routes: ServiceRoutes__Output): RouteTable | undefined {
  const held = compiled.get(routes);
  if (held) return held;
  const table = compileRoutesOnce(routes);
  return table.ok ? table.value : undefined;
}

/** For the discovery client's validate hook: every route set of a state must compile. */
export function validateRoutes(all: Iterable<ServiceRoutes__Output>): Result<void, "bad-route"> {
  for (const routes of all) {
    const table = compileRoutesOnce(routes);
    if (!table.ok) return table;
  }
  return ok(undefined);
}

function compileRoutes(routes: ServiceRoutes__Output): Result<RouteTable, "bad-route"> {
  const where = `routes of ${routes.service}`;
  const rules: CompiledRule[] = [];
  for (const [i, r] of routes.rules.entries()) {
    const filters = compileFilters(r.filters, `${where}: rule ${i} (${r.route})`);
    if (!filters.ok) return filters;
    const backends: CompiledBackend[] = [];
    let totalWeight = 0;
    for (const [j, b] of r.backends.entries()) {
      const bf = compileFilters(b.filters, `${where}: rule ${i} (${r.route}) backend ${j}`);
      if (!bf.ok) return bf;
      if (!b.invalid && !b.service) return fail("bad-route", `${where}: rule ${i} (${r.route}) backend ${j} names no Service`);
      backends.push({ service: b.service, port: b.port, weight: b.weight, invalid: b.invalid, filters: bf.value });
      totalWeight += b.weight;
    }
    rules.push({
      route: r.route,
      name: r.name,
      grpc: r.kind === "GRPCRoute",
      backends,
      totalWeight,
      filters: filters.value,
      requestTimeoutMs: r.requestTimeoutMs,
      backendRequestTimeoutMs: r.backendRequestTimeoutMs,
      retry: r.retry,
    });
  }
  const matches: CompiledMatch[] = [];
  const ports = new Set<number>();
  let anyPort = false;
  for (const [i, m] of routes.matches.entries()) {
    const at = `${where}: match ${i}`;
    const rule = rules[m.rule];
    if (!rule) return fail("bad-route", `${at} points at rule ${m.rule}, but there are ${rules.length}`);
    if (m.port > 65535) return fail("bad-route", `${at}: port ${m.port} is out of range`);
    const path = compilePath(m.path?.type ?? "ANY", m.path?.value ?? "", at);
    if (!path.ok) return path;
    const headers = compileValues(m.headers, `${at} header`, true);
    if (!headers.ok) return headers;
    const query = compileValues(m.queryParams, `${at} query parameter`, false);
    if (!query.ok) return query;
    let grpc: CompiledGrpcMatch | null = null;
    if (m.grpc) {
      const serviceRegex = m.grpc.regex && m.grpc.service ? compileRegex(m.grpc.service, `${at} gRPC service`) : ok(null);
      if (!serviceRegex.ok) return serviceRegex;
      const methodRegex = m.grpc.regex && m.grpc.method ? compileRegex(m.grpc.method, `${at} gRPC method`) : ok(null);
      if (!methodRegex.ok) return methodRegex;
      grpc = { service: m.grpc.regex ? "" : m.grpc.service, method: m.grpc.regex ? "" : m.grpc.method, serviceRegex: serviceRegex.value, methodRegex: methodRegex.value };
    }
    if (m.port === 0) anyPort = true;
    else ports.add(m.port);
    matches.push({ port: m.port, rule, path: path.value, method: m.method.toUpperCase(), headers: headers.value, query: query.value, grpc });
  }
  return ok({ service: routes.service, matches, anyPort, ports });
}

function compilePath(type: string | number, value: string, at: string): Result<CompiledPathMatch, "bad-route"> {
  switch (type) {
    case "ANY":
    case 0:
      return ok({ type: "any" });
    case "EXACT":
    case 1:
      if (!value.startsWith("/")) return fail("bad-route", `${at}: exact path "${value}" does not start with "/"`);
      return ok({ type: "exact", value });
    case "PREFIX":
    case 2:
      if (!value.startsWith("/")) return fail("bad-route", `${at}: path prefix "${value}" does not start with "/"`);
      return ok({ type: "prefix", value: value.endsWith("/") ? value.slice(0, -1) : value });
    case "REGEX":
    case 3: {
      const regex = compileRegex(value, `${at} path`);
      return regex.ok ? ok({ type: "regex", regex: regex.value }) : regex;
    }
    default:
      return fail("bad-route", `${at}: unknown path match type ${String(type)}`);
  }
}

function compileValues(values: readonly RouteValueMatch__Output[], at: string, lower: boolean): Result<CompiledValueMatch[], "bad-route"> {
  const out: CompiledValueMatch[] = [];
  for (const v of values) {
    if (!v.name) return fail("bad-route", `${at} has no name`);
    const name = lower ? v.name.toLowerCase() : v.name;
    if (!v.regex) {
      out.push({ name, value: v.value, regex: null });
      continue;
    }
    const regex = compileRegex(v.value, `${at} "${name}"`);
    if (!regex.ok) return regex;
    out.push({ name, value: "", regex: regex.value });
  }
  return ok(out);
}

/**
 * Gateway API regexes match the whole value (as Envoy's RE2 full match does), so the source is anchored.
 * No flags: the control plane accepts a route's regex by compiling it just so (routes-values.ts), and a
 * flag such as "u" would refuse some it accepted and NACK the whole snapshot over one route.
 */
function compileRegex(source: string, at: string): Result<RegExp, "bad-route"> {
  try {
    return ok(new RegExp(`^(?:${source})$`));
  } catch (err) {
    return fail("bad-route", `${at}: regular expression "${source}" does not compile: ${(err as Error).message}`);
  }
}

const NO_FILTERS: CompiledFilters = { requestHeaders: undefined, responseHeaders: undefined, redirect: undefined, rewrite: undefined, mirrors: [], empty: true };

function compileFilters(filters: readonly RouteFilter__Output[], at: string): Result<CompiledFilters, "bad-route"> {
  if (filters.length === 0) return ok(NO_FILTERS);
  let requestHeaders: HeaderModifier__Output | undefined;
  let responseHeaders: HeaderModifier__Output | undefined;
  let redirect: RequestRedirect__Output | undefined;
  let rewrite: UrlRewrite__Output | undefined;
  const mirrors: RequestMirror__Output[] = [];
  for (const f of filters) {
    if (f.requestHeaderModifier) requestHeaders = f.requestHeaderModifier;
    else if (f.responseHeaderModifier) responseHeaders = f.responseHeaderModifier;
    else if (f.requestRedirect) redirect = f.requestRedirect;
    else if (f.urlRewrite) rewrite = f.urlRewrite;
    else if (f.requestMirror) {
      if (!f.requestMirror.service) return fail("bad-route", `${at}: a mirror names no Service`);
      if (!(f.requestMirror.percent >= 0 && f.requestMirror.percent <= 100)) return fail("bad-route", `${at}: mirror percent ${f.requestMirror.percent} is not within 0..100`);
      mirrors.push(f.requestMirror);
    } else return fail("bad-route", `${at}: a filter of a kind this proxy does not know`);
  }
  if (redirect && rewrite) return fail("bad-route", `${at}: RequestRedirect and URLRewrite cannot be on the same rule`);
  for (const m of [requestHeaders, responseHeaders]) {
    if (!m) continue;
    for (const h of [...m.set, ...m.add]) if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h.name)) return fail("bad-route", `${at}: header name "${h.name}" is not a token`);
    for (const h of [...m.set, ...m.add]) if (hasControl(h.value)) return fail("bad-route", `${at}: header value of "${h.name}" holds a control character`);
  }
  return ok({ requestHeaders, responseHeaders, redirect, rewrite, mirrors, empty: false });
}

/** A field value may hold tab but no other control character (RFC 9110 §5.5). */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}
