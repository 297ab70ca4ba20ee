// Gateway API objects for route tests, shaped as the apiserver returns them.
import type { MeshModel, ServiceModel } from "../../control-plane/src/mesh-state.ts";
import { translateRoutes, type RouteTranslation } from "../../control-plane/src/routes-translate.ts";

export interface RouteMeta {
  created?: string;
  generation?: number;
  resourceVersion?: string;
  status?: unknown;
}


/** A parentRef naming a Service (GAMMA). */
export function svcParent(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { group: "", kind: "Service", name, ...extra };
}

export function httpRoute(namespace: string, name: string, spec: Record<string, unknown>, meta: RouteMeta = {}): Record<string, unknown> {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { namespace, name, creationTimestamp: meta.created ?? "2025-01-01T00:00:00Z", generation: meta.generation ?? 1, resourceVersion: meta.resourceVersion ?? "1" },
    spec,
    ...(meta.status === undefined ? {} : { status: meta.status }),
  };
}

export function grpcRoute(namespace: string, name: string, spec: Record<string, unknown>, meta: RouteMeta = {}): Record<string, unknown> {
  return { ...httpRoute(namespace, name, spec, meta), kind: "GRPCRoute" };
}

export function backend(name: string, port = 80, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, port, ...extra };
}

export function referenceGrant(namespace: string, fromNamespace: string, kind = "HTTPRoute", to: Record<string, unknown> = { group: "", kind: "Service" }): Record<string, unknown> {
  return { metadata: { namespace, name: `allow-${fromNamespace}` }, spec: { from: [{ group: "gateway.networking.k8s.io", kind, namespace: fromNamespace }], to: [to] } };
}

export function translate(services: ReadonlyMap<string, ServiceModel>, http: unknown[], grpc: unknown[] = [], grants: unknown[] = []): RouteTranslation {
  return translateRoutes({ httpRoutes: http, grpcRoutes: grpc, referenceGrants: grants }, services);
}

/** The mesh with the routes the objects translate to. */
export function withRoutes(model: MeshModel, http: unknown[], grpc: unknown[] = [], grants: unknown[] = []): MeshModel {
  return { ...model, routes: translate(model.services, http, grpc, grants).model };
}
