// The mesh's routes compiled for the snapshot builder: once per model change,
// one ServiceRoutes message (and its bytes) per (route namespace, parent
// Service), shared by every scope group that sees it. Which one a group sees
// follows GAMMA: a client namespace's own (consumer) routes for a Service when
// it has any, else the Service's namespace's (producer) routes; and only for
// Services in the group's scope (snapshot-scope.ts). Pure.
//
// An unchanged message keeps its compiled object (found by its bytes), and an
// unchanged map keeps its object, so views share them by reference and a diff
// skips them, as for Services (snapshot-builder.ts).
import type { RouteMatch } from "../../api/gen/weft/discovery/v1/RouteMatch.ts";
import type { RouteRule } from "../../api/gen/weft/discovery/v1/RouteRule.ts";
import type { ServiceRoutes } from "../../api/gen/weft/discovery/v1/ServiceRoutes.ts";
import type { CompiledService } from "./snapshot-compiled.ts";
import { encodeServiceRoutes } from "./snapshot-encode.ts";
import type { RouteModel, RoutesModel } from "./routes-model.ts";
import { orderedEntries } from "./routes-precedence.ts";
import { EMPTY_ROUTES, ScopedRoutes, type CompiledRoutes, type RouteMap } from "./snapshot-scoped-routes.ts";

export interface CompiledRouteTable {
  /** By "<route namespace>|<service key>": the routes of one namespace on one Service. */
  groups: ReadonlyMap<string, CompiledRoutes>;
  /** Producer routes of mesh-wide Services: every group sees them unless its namespace has its own. */
  meshWide: RouteMap;
  /** Client namespace -> its consumer routes, and the producer routes of its namespace-local Services. */
  local: ReadonlyMap<string, RouteMap>;
}

export const NO_ROUTES: CompiledRouteTable = { groups: new Map(), meshWide: EMPTY_ROUTES, local: new Map() };

export function compileRoutes(model: RoutesModel | undefined, services: ReadonlyMap<string, CompiledService>, previous?: CompiledRouteTable): CompiledRouteTable {
  const routes = model?.routes ?? [];
  if (routes.length === 0) return previous && previous.groups.size === 0 ? previous : NO_ROUTES;
  const members = new Map<string, RouteModel[]>();
  for (const route of routes) {
    for (const parent of route.parents) {
      const group = `${route.namespace}|${parent.service}`;
      const list = members.get(group) ?? [];
      if (!list.includes(route)) list.push(route);
      members.set(group, list);
    }
  }
  const groups = new Map<string, CompiledRoutes>();
  const meshWide = new Map<string, CompiledRoutes>();
  const local = new Map<string, Map<string, CompiledRoutes>>();
  const addLocal = (namespace: string, compiled: CompiledRoutes) => {
    let own = local.get(namespace);
    if (!own) local.set(namespace, (own = new Map()));
    own.set(compiled.key, compiled);
  };
  for (const [group, list] of members) {
    const bar = group.indexOf("|");
    const namespace = group.slice(0, bar);
    const key = group.slice(bar + 1);
    const service = services.get(key);
    if (!service) continue;
    // A consumer route for a Service its namespace cannot see is never sent.
    if (namespace !== service.namespace && !service.meshWide) continue;
    const message = serviceRoutes(key, list);
    const encoded = encodeServiceRoutes(message);
    const old = previous?.groups.get(group);
    const compiled = old?.encoded.equals(encoded) ? old : { key, message, encoded };
    groups.set(group, compiled);
    if (namespace === service.namespace && service.meshWide) meshWide.set(key, compiled);
    else addLocal(namespace, compiled);
  }
  return {
    groups,
    meshWide: reuseIfSame(previous?.meshWide, meshWide),
    local: new Map([...local].map(([ns, own]) => [ns, reuseIfSame(previous?.local.get(ns), own)])),
  };
}

/** The routes a group of `namespace` sees. */
export function routesFor(table: CompiledRouteTable, namespace: string): ScopedRoutes {
  return new ScopedRoutes(table.meshWide, table.local.get(namespace));
}

function serviceRoutes(service: string, routes: readonly RouteModel[]): ServiceRoutes {
  const entries = orderedEntries(routes, service);
  const rules: RouteRule[] = [];
  const ruleIndex = new Map<RouteModel, Map<number, number>>();
  // Rules in route order (oldest first) then rule order, whatever order their matches come in.
  for (const route of routes) {
    const own = new Map<number, number>();
    route.rules.forEach((r, i) => {
      own.set(i, rules.length);
      rules.push(r.rule);
    });
    ruleIndex.set(route, own);
  }
  const matches: RouteMatch[] = entries.map((e) => ({ ...e.match, port: e.port, rule: ruleIndex.get(e.route)?.get(e.rule) ?? 0 }));
  return { service, rules, matches };
}

function reuseIfSame(old: RouteMap | undefined, fresh: RouteMap): RouteMap {
  if (fresh.size === 0) return old?.size === 0 ? old : EMPTY_ROUTES;
  if (!old || old.size !== fresh.size) return fresh;
  for (const [key, value] of fresh) if (old.get(key) !== value) return fresh;
  return old;
}
