// Which route a request follows: a pure function of the Service's compiled
// table, the port called and the request's attributes, with the weighted
// backend choice drawn from an injected random source. The table's matches
// are already in Gateway API precedence order, so the first that matches
// wins. Requests to a port no route names are "unrouted" and take the
// proxy's route-less path unchanged; the outcomes without per-request data
// are module constants, so deciding allocates only for a routed request.
import type { CompiledBackend, CompiledMatch, CompiledRule, CompiledValueMatch, RouteTable } from "./route-table.ts";

/** What the decision reads of a request: the neutral request's fields (http/request.ts), names lower-case. */
export interface RouteRequest {
  readonly method: string;
  /** The request target: path and query, as received. */
  readonly path: string;
  /** [name, value, ...], names lower-case. */
  readonly fields: readonly string[];
}

export type RouteDecision =
  /** No route names this port: today's path. */
  | { readonly kind: "unrouted" }
  /** Routes apply but none matches: 404 (HTTP) or UNIMPLEMENTED (gRPC). */
  | { readonly kind: "no-match" }
  /**
   * `backend` null: the rule has no backend with weight, or the draw fell on
   * an invalid one; that share is answered 500 (HTTP) or UNAVAILABLE (gRPC).
   */
  | { readonly kind: "route"; readonly rule: CompiledRule; readonly match: CompiledMatch; readonly backend: CompiledBackend | null };

export const UNROUTED: RouteDecision = { kind: "unrouted" };
export const NO_MATCH: RouteDecision = { kind: "no-match" };

export function decideRoute(table: RouteTable, port: number, request: RouteRequest, random: () => number): RouteDecision {
  if (!table.anyPort && !table.ports.has(port)) return UNROUTED;
  const matches = table.matches;
  // The query is split off once, and only for a table that matches on it.
  let pathOnly: string | undefined;
  let query: URLSearchParams | undefined;
  for (let i = 0; i < matches.length; i++) {
    const m = matches[i] as CompiledMatch;
    if (m.port !== 0 && m.port !== port) continue;
    if (m.method !== "" && m.method !== request.method) continue;
    pathOnly ??= pathOf(request.path);
    if (!pathMatches(m, pathOnly)) continue;
    if (m.grpc && !grpcMatches(m, pathOnly)) continue;
    if (m.headers.length > 0 && !headersMatch(m.headers, request.fields)) continue;
    if (m.query.length > 0) {
      query ??= new URLSearchParams(queryOf(request.path));
      if (!queryMatches(m.query, query)) continue;
    }
    return { kind: "route", rule: m.rule, match: m, backend: chooseBackend(m.rule, random) };
  }
  return NO_MATCH;
}

/** Weighted choice: a backend of weight w is drawn w/total of the time; weight 0 never. Null: no backend to call. */
export function chooseBackend(rule: CompiledRule, random: () => number): CompiledBackend | null {
  const total = rule.totalWeight;
  if (total <= 0) return null;
  const backends = rule.backends;
  let draw = random() * total;
  for (let i = 0; i < backends.length; i++) {
    const b = backends[i] as CompiledBackend;
    if (b.weight <= 0) continue;
    if (draw < b.weight) return b.invalid ? null : b;
    draw -= b.weight;
  }
  // Rounding left the draw a hair past the end: the last backend with weight takes it.
  for (let i = backends.length - 1; i >= 0; i--) {
    const b = backends[i] as CompiledBackend;
    if (b.weight > 0) return b.invalid ? null : b;
  }
  return null;
}

export function pathOf(target: string): string {
  const q = target.indexOf("?");
  return q < 0 ? target : target.slice(0, q);
}

function queryOf(target: string): string {
  const q = target.indexOf("?");
  return q < 0 ? "" : target.slice(q + 1);
}

function pathMatches(m: CompiledMatch, path: string): boolean {
  const p = m.path;
  switch (p.type) {
    case "any":
      return true;
    case "exact":
      return path === p.value;
    case "prefix":
      // "/foo" matches "/foo" and "/foo/..." but not "/foobar"; "" (the prefix "/") matches every path.
      return path.startsWith(p.value) && (path.length === p.value.length || path.charCodeAt(p.value.length) === 47 /* / */);
    case "regex":
      return p.regex.test(path);
  }
}

/** gRPC's path is "/<package.Service>/<Method>". */
function grpcMatches(m: CompiledMatch, path: string): boolean {
  const g = m.grpc;
  if (!g) return true;
  const slash = path.indexOf("/", 1);
  if (path.charCodeAt(0) !== 47 || slash < 0) return false;
  const service = path.slice(1, slash);
  const method = path.slice(slash + 1);
  if (g.serviceRegex ? !g.serviceRegex.test(service) : g.service !== "" && g.service !== service) return false;
  if (g.methodRegex ? !g.methodRegex.test(method) : g.method !== "" && g.method !== method) return false;
  return true;
}

function headersMatch(matches: readonly CompiledValueMatch[], fields: readonly string[]): boolean {
  for (let i = 0; i < matches.length; i++) {
    const h = matches[i] as CompiledValueMatch;
    const value = headerValue(fields, h.name);
    if (value === undefined) return false;
    if (h.regex ? !h.regex.test(value) : value !== h.value) return false;
  }
  return true;
}

/** A repeated header is matched as its values joined with ", " (RFC 9110 §5.3). */
function headerValue(fields: readonly string[], name: string): string | undefined {
  let out: string | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] !== name) continue;
    const v = fields[i + 1] as string;
    out = out === undefined ? v : `${out}, ${v}`;
  }
  return out;
}

/** A repeated query parameter is matched by its first value, as the spec suggests. */
function queryMatches(matches: readonly CompiledValueMatch[], query: URLSearchParams): boolean {
  for (let i = 0; i < matches.length; i++) {
    const q = matches[i] as CompiledValueMatch;
    const value = query.get(q.name);
    if (value === null) return false;
    if (q.regex ? !q.regex.test(value) : value !== q.value) return false;
  }
  return true;
}
