// Gateway API precedence between the matches of every route on one parent
// Service (docs/routing.md, "Precedence"). The proxy takes the first match
// that fits, so this order is the routing decision. Ties are broken as the spec
// says, and then by rule and match order, so the order is total and stable.
//
// HTTPRoute: Exact path, then the longest PathPrefix, then RegularExpression
// (then a match with no path at all); a method; the most header matches; the
// most query parameter matches. GRPCRoute: an exact service/method before a
// regex one, then the longest service, the longest method, the most headers.
// Then, between routes: the oldest creationTimestamp, then "namespace/name".
import { routeKey, type MatchModel, type RouteModel } from "./routes-model.ts";

export interface MatchEntry {
  route: RouteModel;
  /** Index of the rule within its route, and of the match within its rule. */
  rule: number;
  index: number;
  /** The parentRef's port (0 = every port). */
  port: number;
  match: MatchModel;
}

const PATH_RANK: Record<string, number> = { EXACT: 0, PREFIX: 1, REGEX: 2, ANY: 3 };

function pathRank(m: MatchModel): number {
  return PATH_RANK[String(m.path?.type ?? "ANY")] ?? 3;
}

function byKind(a: MatchEntry, b: MatchEntry): number {
  if (a.route.kind !== b.route.kind) return 0;
  const x = a.match;
  const y = b.match;
  if (a.route.kind === "GRPCRoute") {
    const gx = x.grpc;
    const gy = y.grpc;
    return (
      Number(gx?.regex ?? false) - Number(gy?.regex ?? false) ||
      (gy?.service ?? "").length - (gx?.service ?? "").length ||
      (gy?.method ?? "").length - (gx?.method ?? "").length ||
      (y.headers?.length ?? 0) - (x.headers?.length ?? 0)
    );
  }
  const rank = pathRank(x) - pathRank(y);
  if (rank !== 0) return rank;
  if (pathRank(x) === PATH_RANK.PREFIX) {
    const longer = (y.path?.value ?? "").length - (x.path?.value ?? "").length;
    if (longer !== 0) return longer;
  }
  return (
    Number(!x.method) - Number(!y.method) ||
    (y.headers?.length ?? 0) - (x.headers?.length ?? 0) ||
    (y.queryParams?.length ?? 0) - (x.queryParams?.length ?? 0)
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareEntries(a: MatchEntry, b: MatchEntry): number {
  return (
    byKind(a, b) ||
    compareText(a.route.created, b.route.created) ||
    compareText(routeKey(a.route), routeKey(b.route)) ||
    a.rule - b.rule ||
    a.index - b.index ||
    a.port - b.port
  );
}

/** Every match of every rule of `routes` on the parent Service `service`, in precedence order. */
export function orderedEntries(routes: readonly RouteModel[], service: string): MatchEntry[] {
  const entries: MatchEntry[] = [];
  for (const route of routes) {
    for (const parent of route.parents) {
      if (parent.service !== service) continue;
      route.rules.forEach((rule, r) => rule.matches.forEach((match, index) => entries.push({ route, rule: r, index, port: parent.port, match })));
    }
  }
  return entries.sort(compareEntries);
}

/** Two entries with equal signatures match exactly the same requests: only the first is ever taken. */
export function matchSignature(e: MatchEntry): string {
  const m = e.match;
  const values = (v: MatchModel["headers"]) => (v ?? []).map((h) => `${h.name}\u0000${h.regex ? 1 : 0}\u0000${h.value}`).sort();
  return JSON.stringify([e.route.kind, e.port, m.path?.type ?? "ANY", m.path?.value ?? "", m.method ?? "", values(m.headers), values(m.queryParams), m.grpc ?? null]);
}
