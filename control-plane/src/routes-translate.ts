// Gateway API HTTPRoutes and GRPCRoutes (and the ReferenceGrants they rely on)
// to the routes of the mesh model, and what each route's status must say.
// Pure, so every validation and status reason is a unit test
// (test/control-plane/routes-translate.test.ts).
//
// Only GAMMA routes are Weft's: those with a parentRef naming a Service (group
// "" or "core", kind Service). Routes of gateways are left to their
// controllers, and so are the non-Service parentRefs of a mixed route.
//
// One bad route never breaks another: a route with a value Weft cannot honour
// (a regex that does not compile or needs more than RE2, a bad duration) is not
// accepted and not sent; an unresolvable backend is sent flagged invalid (its
// share of requests gets 500); a rule with an unsupported filter answers 500.
import type { RouteBackend } from "../../api/gen/weft/discovery/v1/RouteBackend.ts";
import type { RouteFilter } from "../../api/gen/weft/discovery/v1/RouteFilter.ts";
import type { RouteRule } from "../../api/gen/weft/discovery/v1/RouteRule.ts";
import type { RouteValueMatch } from "../../api/gen/weft/discovery/v1/RouteValueMatch.ts";
import type { ServiceModel } from "./mesh-state.ts";
import { serviceKey } from "./mesh-state.ts";
import { DEFAULT_CLIENT_SETTINGS } from "./policy-defaults.ts";
import { readFilter } from "./routes-filters.ts";
import { routeKey, type MatchModel, type RouteKind, type RouteModel, type RouteParent, type RouteRuleModel, type RoutesModel } from "./routes-model.ts";
import { matchSignature, orderedEntries } from "./routes-precedence.ts";
import { integer, isCoreGroup, list, readGrants, record, resolveServiceRef, text, type RefContext, type RefProblem } from "./routes-refs.ts";
import { checkRegex, parseGatewayDuration } from "./routes-values.ts";

export interface RouteObjects {
  httpRoutes: Iterable<unknown>;
  grpcRoutes: Iterable<unknown>;
  /** gateway.networking.k8s.io/v1beta1 ReferenceGrants. */
  referenceGrants: Iterable<unknown>;
}

export type AcceptedReason = "Accepted" | "NoMatchingParent" | "UnsupportedValue";
export type ResolvedRefsReason = "ResolvedRefs" | "RefNotPermitted" | "InvalidKind" | "BackendNotFound" | "UnsupportedValue";

export interface ConditionOutcome<Reason extends string = string> {
  status: boolean;
  reason: Reason;
  message: string;
}

export interface ParentOutcome {
  /** The parentRef as written in the route: status.parents[].parentRef echoes it. */
  parentRef: Record<string, unknown>;
  accepted: ConditionOutcome<AcceptedReason>;
  resolvedRefs: ConditionOutcome<ResolvedRefsReason>;
}

/** What one GAMMA route's status must say, per Service parentRef. */
export interface RouteOutcome {
  kind: RouteKind;
  namespace: string;
  name: string;
  generation: number;
  parents: ParentOutcome[];
}

export interface RouteTranslation {
  model: RoutesModel;
  outcomes: RouteOutcome[];
}

export function isServiceParent(raw: unknown): boolean {
  const ref = record(raw);
  // A parentRef's group defaults to gateway.networking.k8s.io and its kind to Gateway: a Service is always explicit.
  return ref !== undefined && typeof ref.group === "string" && isCoreGroup(ref.group) && ref.kind === "Service" && typeof ref.name === "string";
}

export function translateRoutes(objects: RouteObjects, services: ReadonlyMap<string, ServiceModel>): RouteTranslation {
  const grants = readGrants(objects.referenceGrants);
  const routes: RouteModel[] = [];
  const outcomes: RouteOutcome[] = [];
  for (const [kind, items] of [["HTTPRoute", objects.httpRoutes], ["GRPCRoute", objects.grpcRoutes]] as const) {
    for (const raw of items) {
      const t = translateRoute(kind, raw, services, grants);
      if (!t) continue;
      outcomes.push(t.outcome);
      if (t.route) routes.push(t.route);
    }
  }
  noteConflicts(routes, outcomes);
  // A stable order, so an unchanged set of routes compiles to the same bytes.
  routes.sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : routeKey(a) < routeKey(b) ? -1 : routeKey(a) > routeKey(b) ? 1 : a.kind < b.kind ? -1 : 1));
  return { model: { routes }, outcomes };
}

interface RuleProblems {
  refs: RefProblem[];
  /** The first value that makes the whole route unacceptable. */
  value: string | null;
}

function translateRoute(
  kind: RouteKind,
  raw: unknown,
  services: ReadonlyMap<string, ServiceModel>,
  grants: RefContext["grants"],
): { route: RouteModel | null; outcome: RouteOutcome } | null {
  const o = record(raw);
  const meta = record(o?.metadata);
  const namespace = text(meta?.namespace);
  const name = text(meta?.name);
  const spec = record(o?.spec);
  if (!namespace || !name || !spec) return null;
  const parentRefs = list(spec.parentRefs).filter(isServiceParent).map((p) => record(p) ?? {});
  if (parentRefs.length === 0) return null;

  const parentServices = new Set(parentRefs.map((p) => serviceKey(text(p.namespace) ?? namespace, text(p.name) ?? "")));
  const ctx: RefContext = { kind, namespace, services, grants, parents: parentServices };
  const problems: RuleProblems = { refs: [], value: null };
  const key = `${namespace}/${name}`;
  const rules = list(spec.rules).map((r) => readRule(kind, key, record(r) ?? {}, ctx, problems));
  const resolvedRefs: ConditionOutcome<ResolvedRefsReason> =
    problems.refs.length === 0
      ? { status: true, reason: "ResolvedRefs", message: "all references resolved" }
      : { status: false, reason: problems.refs[0]?.reason ?? "BackendNotFound", message: problems.refs.map((p) => p.message).join("; ").slice(0, 1024) };

  const parents: RouteParent[] = [];
  const outcome: RouteOutcome = { kind, namespace, name, generation: integer(meta?.generation) ?? 0, parents: [] };
  for (const ref of parentRefs) {
    const parent = resolveParent(ref, namespace, services);
    let accepted: ConditionOutcome<AcceptedReason>;
    if (!parent.ok) accepted = { status: false, reason: "NoMatchingParent", message: parent.message };
    else if (problems.value !== null) accepted = { status: false, reason: "UnsupportedValue", message: problems.value };
    else {
      accepted = { status: true, reason: "Accepted", message: "accepted by the Weft mesh" };
      if (!parents.some((p) => p.service === parent.service && p.port === parent.port)) parents.push({ service: parent.service, port: parent.port });
    }
    outcome.parents.push({ parentRef: echoParentRef(ref), accepted, resolvedRefs });
  }
  const created = text(meta?.creationTimestamp) ?? "";
  const route = parents.length > 0 ? { kind, namespace, name, created, parents, rules } : null;
  return { route, outcome };
}

function echoParentRef(ref: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { group: ref.group, kind: ref.kind, name: ref.name };
  for (const k of ["namespace", "sectionName", "port"]) if (ref[k] !== undefined) out[k] = ref[k];
  return out;
}

function resolveParent(ref: Record<string, unknown>, routeNamespace: string, services: ReadonlyMap<string, ServiceModel>): (RouteParent & { ok: true }) | { ok: false; message: string } {
  const key = serviceKey(text(ref.namespace) ?? routeNamespace, text(ref.name) ?? "");
  const svc = services.get(key);
  if (!svc) return { ok: false, message: `parent Service ${key} not found` };
  const port = integer(ref.port);
  const section = text(ref.sectionName);
  if (port !== undefined && !svc.ports.some((p) => p.port === port)) return { ok: false, message: `parent Service ${key} has no port ${port}` };
  if (section !== undefined) {
    const named = svc.ports.find((p) => p.name === section);
    if (!named || (port !== undefined && named.port !== port)) return { ok: false, message: `parent Service ${key} has no port named ${section}${port !== undefined ? ` with number ${port}` : ""}` };
    return { ok: true, service: key, port: named.port ?? 0 };
  }
  return { ok: true, service: key, port: port ?? 0 };
}

function readRule(kind: RouteKind, route: string, r: Record<string, unknown>, ctx: RefContext, problems: RuleProblems): RouteRuleModel {
  let unsupported = false;
  const filters = (raw: unknown): RouteFilter[] =>
    list(raw).flatMap((f) => {
      const read = readFilter(f, ctx);
      if (read.ok) return [read.filter];
      if (read.unsupported) {
        problems.refs.push(read.problem);
        unsupported = true;
      } else problems.value ??= read.problem.message;
      return [];
    });
  const ruleFilters = filters(r.filters);
  const ruleUnsupported = unsupported;
  const backends: RouteBackend[] = list(r.backendRefs).map((b) => {
    const ref = record(b) ?? {};
    const resolved = resolveServiceRef(ref, ctx);
    if (!resolved.ok) problems.refs.push(resolved.problem);
    unsupported = false;
    const own = filters(ref.filters);
    const weight = integer(ref.weight) ?? 1;
    // A backend whose own filter cannot apply gets its share answered 500, like an unresolved one.
    const invalid = !resolved.ok || unsupported;
    const service = resolved.ok ? resolved.service : serviceKey(text(ref.namespace) ?? ctx.namespace, text(ref.name) ?? "");
    return { service, port: resolved.ok ? resolved.port : (integer(ref.port) ?? 0), weight: Math.max(0, weight), filters: own, invalid };
  });
  const rule: RouteRule = {
    route,
    name: text(r.name) ?? "",
    kind,
    // The spec forbids skipping a filter: a rule with one Weft cannot apply answers every request 500.
    backends: ruleUnsupported ? [] : backends,
    filters: ruleFilters,
    retry: null,
  };
  const timeouts = record(r.timeouts);
  for (const [field, target] of [["request", "requestTimeoutMs"], ["backendRequest", "backendRequestTimeoutMs"]] as const) {
    const value = text(timeouts?.[field]);
    if (value === undefined) continue;
    const ms = parseGatewayDuration(value);
    if (ms.ok) rule[target] = ms.value;
    else problems.value ??= `timeouts.${field}: ${ms.message}`;
  }
  const retry = record(r.retry);
  if (retry) {
    const backoff = text(retry.backoff);
    const backoffMs = backoff === undefined ? undefined : parseGatewayDuration(backoff);
    if (backoffMs && !backoffMs.ok) problems.value ??= `retry.backoff: ${backoffMs.message}`;
    rule.retry = {
      // Unset attempts: the mesh's own default number of retries.
      attempts: integer(retry.attempts) ?? DEFAULT_CLIENT_SETTINGS.retry.maxRetries,
      codes: list(retry.codes).flatMap((c) => (typeof c === "number" && Number.isInteger(c) ? [c] : [])),
      backoffMs: backoffMs?.ok ? backoffMs.value : DEFAULT_CLIENT_SETTINGS.retry.backoffBaseMs,
    };
  }
  const rawMatches = list(r.matches);
  const matches: MatchModel[] =
    kind === "HTTPRoute"
      ? (rawMatches.length > 0 ? rawMatches : [{}]).map((m) => httpMatch(record(m) ?? {}, problems))
      : (rawMatches.length > 0 ? rawMatches : [{}]).map((m) => grpcMatch(record(m) ?? {}, problems));
  return { rule, matches };
}

function checked(value: string, regex: boolean, where: string, problems: RuleProblems): string {
  if (!regex) return value;
  const result = checkRegex(value);
  if (!result.ok) problems.value ??= `${where}: ${result.message}`;
  return value;
}

function valueMatches(raw: unknown, where: string, lower: boolean, problems: RuleProblems): RouteValueMatch[] {
  const out: RouteValueMatch[] = [];
  for (const item of list(raw)) {
    const m = record(item) ?? {};
    const name = text(m.name);
    if (!name) continue;
    const key = lower ? name.toLowerCase() : name;
    // The spec: when a name appears twice, the first entry wins.
    if (out.some((o) => o.name === key)) continue;
    const regex = text(m.type) === "RegularExpression";
    out.push({ name: key, regex, value: checked(text(m.value) ?? "", regex, `${where} ${name}`, problems) });
  }
  return out;
}

function httpMatch(m: Record<string, unknown>, problems: RuleProblems): MatchModel {
  const path = record(m.path);
  const type = text(path?.type) ?? "PathPrefix";
  const value = text(path?.value) ?? "/";
  const wireType = type === "Exact" ? "EXACT" : type === "RegularExpression" ? "REGEX" : "PREFIX";
  if (type !== "Exact" && type !== "RegularExpression" && type !== "PathPrefix") problems.value ??= `path match type ${JSON.stringify(type)} is not supported`;
  return {
    path: { type: wireType, value: checked(value, wireType === "REGEX", "path", problems) },
    method: (text(m.method) ?? "").toUpperCase(),
    headers: valueMatches(m.headers, "header", true, problems),
    queryParams: valueMatches(m.queryParams, "query parameter", false, problems),
    grpc: null,
  };
}

function grpcMatch(m: Record<string, unknown>, problems: RuleProblems): MatchModel {
  const method = record(m.method);
  const regex = text(method?.type) === "RegularExpression";
  return {
    path: { type: "ANY", value: "" },
    method: "",
    headers: valueMatches(m.headers, "header", true, problems),
    queryParams: [],
    grpc: {
      service: checked(text(method?.service) ?? "", regex, "gRPC service", problems),
      method: checked(text(method?.method) ?? "", regex, "gRPC method", problems),
      regex,
    },
  };
}

/**
 * Routes of one namespace on one Service are always applied together (as consumer or producer
 * routes), so a match another route of that set already has exactly is never reached. It is
 * no error (precedence decides, as the spec says), but the route's Accepted message tells.
 */
function noteConflicts(routes: readonly RouteModel[], outcomes: readonly RouteOutcome[]): void {
  const byGroup = new Map<string, RouteModel[]>();
  for (const route of routes) {
    for (const parent of route.parents) {
      const group = `${route.namespace}|${parent.service}`;
      const members = byGroup.get(group) ?? [];
      if (!members.includes(route)) members.push(route);
      byGroup.set(group, members);
    }
  }
  const shadowed = new Map<RouteModel, Map<string, Set<string>>>();
  for (const [group, members] of byGroup) {
    if (members.length < 2) continue;
    const service = group.slice(group.indexOf("|") + 1);
    const first = new Map<string, RouteModel>();
    for (const entry of orderedEntries(members, service)) {
      const signature = matchSignature(entry);
      const winner = first.get(signature);
      if (!winner) first.set(signature, entry.route);
      else if (winner !== entry.route) {
        const byService = shadowed.get(entry.route) ?? new Map<string, Set<string>>();
        byService.set(service, (byService.get(service) ?? new Set()).add(routeKey(winner)));
        shadowed.set(entry.route, byService);
      }
    }
  }
  for (const [route, byService] of shadowed) {
    const outcome = outcomes.find((o) => o.kind === route.kind && o.namespace === route.namespace && o.name === route.name);
    for (const parent of outcome?.parents ?? []) {
      const key = serviceKey(text(parent.parentRef.namespace) ?? route.namespace, text(parent.parentRef.name) ?? "");
      const winners = byService.get(key);
      if (winners && parent.accepted.status) {
        parent.accepted.message = `accepted by the Weft mesh; some matches conflict with older routes that take precedence: ${[...winners].sort().join(", ")}`;
      }
    }
  }
}
