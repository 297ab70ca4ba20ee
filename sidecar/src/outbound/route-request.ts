// The outbound shell of a routed request (GAMMA): the Service's compiled
// route table decides (routing/route-decision.ts, pure), and this performs
// the decision: the proxy's own answers (404 / UNIMPLEMENTED when nothing
// matches, 500 / UNAVAILABLE for a backend share that cannot be called, a
// redirect), the request filters, mirrored copies, and then the same
// forwarding as an unrouted request, to the chosen backend Service's
// endpoints (balanced as ever) under the rule's timeouts and retry.
import { PassThrough, Writable } from "node:stream";
import type { HeaderModifier__Output } from "../../../api/gen/weft/discovery/v1/HeaderModifier.ts";
import { recordRequest as recordRequestMetrics, statusClass } from "../admin/metrics.ts";
import type { MeshCall, MeshView } from "../discovery/mesh-view.ts";
import type { Downstream } from "../http/downstream.ts";
import { ObservedProxyRequest } from "../http/observed-request.ts";
import type { RequestObserver } from "../http/request-observer.ts";
import { modifyRequestFields } from "../routing/header-filters.ts";
import { decideRoute } from "../routing/route-decision.ts";
import { mirrorsFor } from "../routing/request-mirror.ts";
import { routeTableOf, type CompiledFilters, type CompiledMatch, type CompiledRule } from "../routing/route-table.ts";
import { redirectFor, rewriteTarget } from "../routing/url-filters.ts";
import { sendProxyError, type OutboundHttpContext } from "./call.ts";
import { forwardOutbound } from "./http.ts";
import { MirrorDownstream, RoutedDownstream } from "./routed-downstream.ts";
import { routePolicy } from "./route-policy.ts";

export interface RoutingContext {
  readonly view: MeshView;
  readonly http: OutboundHttpContext;
  readonly observer: RequestObserver;
}

/**
 * Forwards `ds` as the routes of `call` decide, and returns true; false when
 * no route applies to the port called, and the caller takes the unrouted path.
 */
export function forwardRouted(o: RoutingContext, ds: Downstream, call: MeshCall, grpc: boolean): boolean {
  const routes = call.routes;
  if (!routes) return false;
  // The discovery client NACKs a table that does not compile, so this finds the one compiled then.
  const table = routeTableOf(routes);
  if (!table) return false;
  const ctx = o.http;
  const decision = decideRoute(table, call.port, ds, ctx.rng);
  switch (decision.kind) {
    case "unrouted":
      return false;
    case "no-match":
      answer(o, ds, call.service, grpc, "", 404, "no-route-match");
      return true;
    case "route":
      break;
  }
  const { rule, match, backend } = decision;
  const redirect = rule.filters.redirect ?? backend?.filters.redirect;
  if (redirect) {
    const r = redirectFor(ds.path, ds.authority, "http", call.port, redirect, match.path);
    ds.respond(r.status, { location: r.location }, true);
    recordRequestMetrics(ctx.metrics, "outbound", call.service, statusClass(r.status), undefined, 0, rule.route, ctx.pool.selfIdentity);
    return true;
  }
  if (!backend) {
    answer(o, ds, call.service, grpc, rule.route, 500, "route-backend-invalid");
    return true;
  }
  const target = o.view.callService(backend.service, backend.port || call.port);
  if (!target) {
    answer(o, ds, backend.service, grpc, rule.route, 500, "route-backend-unavailable");
    return true;
  }
  const routed = filtered(ds, rule, match, backend.filters);
  if (rule.filters.mirrors.length > 0 || backend.filters.mirrors.length > 0) mirror(o, routed, call, rule, backend.filters, grpc);
  const scope = o.observer.onRequest(new ObservedProxyRequest("outbound", routed, ds.proto, grpc, target.service, "", rule.route));
  forwardOutbound(ctx, routed, {
    service: target.service,
    endpoints: target.endpoints,
    policy: routePolicy(target.policy, rule),
    scope,
    grpc,
    route: rule.route,
    attemptTimeoutMs: rule.backendRequestTimeoutMs ?? 0,
  });
  return true;
}

/** The proxy answers itself: counted under the Service called (or the backend that could not be) and the route. */
function answer(o: RoutingContext, ds: Downstream, service: string, grpc: boolean, route: string, status: number, code: string): void {
  const result = sendProxyError(ds, grpc, status, code);
  recordRequestMetrics(o.http.metrics, "outbound", service, grpc ? "2xx" : statusClass(status), result.grpcStatus, 0, route, o.http.pool.selfIdentity);
}

/** The request as the rule's filters and then the backend's leave it; `ds` itself when they change nothing. */
function filtered(ds: Downstream, rule: CompiledRule, match: CompiledMatch, backend: CompiledFilters): Downstream {
  if (rule.filters.empty && backend.empty) return ds;
  let path = ds.path;
  let authority = ds.authority;
  let fields = ds.fields;
  const response: HeaderModifier__Output[] = [];
  for (const f of [rule.filters, backend]) {
    if (f.empty) continue;
    if (f.requestHeaders) fields = modifyRequestFields(fields, f.requestHeaders);
    if (f.rewrite) {
      const t = rewriteTarget(path, authority, f.rewrite, match.path);
      path = t.path;
      authority = t.authority;
    }
    if (f.responseHeaders) response.push(f.responseHeaders);
  }
  return new RoutedDownstream(ds, path, authority, fields, response);
}

/**
 * Fire and forget: each chosen mirror gets a copy of the request's head,
 * balanced and sent like any request, its answer discarded. The client's own
 * request does not wait for it, and nothing the copy meets reaches the client.
 * A request with a body is not mirrored (its body is streamed once, to the
 * backend the client waits for).
 */
function mirror(o: RoutingContext, ds: Downstream, call: MeshCall, rule: CompiledRule, backend: CompiledFilters, grpc: boolean): void {
  if (ds.hasBody) return;
  const ctx = o.http;
  for (const filters of [rule.filters, backend]) {
    for (const m of mirrorsFor(filters.mirrors, ctx.rng)) {
      const target = o.view.callService(m.service, m.port || call.port);
      if (!target) continue;
      const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
      const copy = new MirrorDownstream(ds, ds.path, ds.authority, ds.fields, new PassThrough().end(), sink);
      forwardOutbound(ctx, copy, {
        service: target.service,
        endpoints: target.endpoints,
        // A copy is never retried: it must not cost the backend or the budget more than the one request.
        policy: { ...target.policy, retry: { ...target.policy.retry, enabled: false } },
        scope: undefined,
        grpc,
        route: rule.route,
        attemptTimeoutMs: 0,
      });
    }
  }
}
