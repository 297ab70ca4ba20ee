// GAMMA routes as the mesh model holds them: HTTPRoutes and GRPCRoutes whose
// parent is a Service, already validated and with their backends resolved by
// routes-translate.ts, so the snapshot builder (routes-compile.ts) only orders
// and groups them. Plain data, like the rest of the model (mesh-state.ts).
import type { RouteMatch } from "../../api/gen/weft/discovery/v1/RouteMatch.ts";
import type { RouteRule } from "../../api/gen/weft/discovery/v1/RouteRule.ts";

export type RouteKind = "HTTPRoute" | "GRPCRoute";

export const GATEWAY_GROUP = "gateway.networking.k8s.io";
/** What Weft writes as status.parents[].controllerName (docs/routing.md). */
export const MESH_CONTROLLER_NAME = "weft.io/mesh-controller";

export interface RouteModel {
  kind: RouteKind;
  namespace: string;
  name: string;
  /** metadata.creationTimestamp (RFC 3339): the older route wins a precedence tie. */
  created: string;
  /** The Service parents the route was accepted for; port 0 = every port of the Service. */
  parents: readonly RouteParent[];
  rules: readonly RouteRuleModel[];
}

export interface RouteParent {
  /** "namespace/name" of the parent Service. */
  service: string;
  port: number;
}

export interface RouteRuleModel {
  /** The wire rule (route, name, kind, backends, filters, timeouts, retry). */
  rule: RouteRule;
  /** The rule's matches, without port and rule index (the compiler sets those). */
  matches: readonly MatchModel[];
}

export type MatchModel = Omit<RouteMatch, "port" | "rule">;

export interface RoutesModel {
  /** Accepted routes only; a route that was refused is only in its status. */
  routes: readonly RouteModel[];
}

export function routeKey(route: Pick<RouteModel, "namespace" | "name">): string {
  return `${route.namespace}/${route.name}`;
}
