// Resolving a route's references to Services (backendRefs, RequestMirror's
// backendRef) the way Gateway API asks: only core Services, in the route's
// namespace unless a ReferenceGrant there allows it or the Service is one of the
// route's own parents, and only ones that exist.
// Pure; the reasons are the spec's ResolvedRefs reasons.
import type { ServiceModel } from "./mesh-state.ts";
import { serviceKey } from "./mesh-state.ts";
import { GATEWAY_GROUP, type RouteKind } from "./routes-model.ts";

export type RefReason = "RefNotPermitted" | "InvalidKind" | "BackendNotFound";

export interface RefProblem {
  reason: RefReason | "UnsupportedValue";
  message: string;
}

export type Resolved = { ok: true; service: string; port: number } | { ok: false; problem: RefProblem };

/** One ReferenceGrant (gateway.networking.k8s.io/v1beta1), reduced to what a Service reference needs. */
export interface GrantModel {
  namespace: string;
  from: { group: string; kind: string; namespace: string }[];
  to: { group: string; kind: string; name: string | null }[];
}

export interface RefContext {
  kind: RouteKind;
  /** The route's namespace. */
  namespace: string;
  services: ReadonlyMap<string, ServiceModel>;
  grants: readonly GrantModel[];
  /**
   * The Services the route's parentRefs name ("ns/name"). A consumer route sending its
   * parent's traffic back to that very Service in another namespace needs no
   * ReferenceGrant (GEP-1294; the suite's MeshConsumerRoute): its clients reach that
   * Service anyway, so the reference widens nothing. Any other Service in another
   * namespace still needs one.
   */
  parents?: ReadonlySet<string>;
}

export function record(x: unknown): Record<string, unknown> | undefined {
  return x !== null && typeof x === "object" && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}

export function text(x: unknown): string | undefined {
  return typeof x === "string" ? x : undefined;
}

export function integer(x: unknown): number | undefined {
  return typeof x === "number" && Number.isInteger(x) ? x : undefined;
}

export function list(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}

export function isCoreGroup(group: string | undefined): boolean {
  return group === undefined || group === "" || group === "core";
}

export function resolveServiceRef(raw: unknown, ctx: RefContext): Resolved {
  const ref = record(raw) ?? {};
  const name = text(ref.name) ?? "";
  const group = text(ref.group);
  const kind = text(ref.kind) ?? "Service";
  if (!isCoreGroup(group) || kind !== "Service") {
    return { ok: false, problem: { reason: "InvalidKind", message: `backend ${group || "core"}/${kind} ${name}: only core Services are supported` } };
  }
  const namespace = text(ref.namespace) ?? ctx.namespace;
  const key = serviceKey(namespace, name);
  if (namespace !== ctx.namespace && ctx.parents?.has(key) !== true && !granted(ctx, namespace, name)) {
    return { ok: false, problem: { reason: "RefNotPermitted", message: `backend Service ${key} is in another namespace and no ReferenceGrant in ${namespace} allows ${ctx.kind} from ${ctx.namespace}` } };
  }
  if (!ctx.services.has(key)) return { ok: false, problem: { reason: "BackendNotFound", message: `backend Service ${key} not found` } };
  return { ok: true, service: key, port: integer(ref.port) ?? 0 };
}

function granted(ctx: RefContext, namespace: string, name: string): boolean {
  return ctx.grants.some(
    (g) =>
      g.namespace === namespace &&
      g.from.some((f) => f.group === GATEWAY_GROUP && f.kind === ctx.kind && f.namespace === ctx.namespace) &&
      g.to.some((t) => isCoreGroup(t.group) && t.kind === "Service" && (t.name === null || t.name === name)),
  );
}

/** ReferenceGrants as the API returns them; malformed entries are skipped (they grant nothing). */
export function readGrants(objects: Iterable<unknown>): GrantModel[] {
  const grants: GrantModel[] = [];
  for (const object of objects) {
    const o = record(object);
    const namespace = text(record(o?.metadata)?.namespace);
    const spec = record(o?.spec);
    if (!namespace || !spec) continue;
    grants.push({
      namespace,
      from: list(spec.from).flatMap((f) => {
        const r = record(f);
        const group = text(r?.group);
        const kind = text(r?.kind);
        const ns = text(r?.namespace);
        return group !== undefined && kind && ns ? [{ group, kind, namespace: ns }] : [];
      }),
      to: list(spec.to).flatMap((t) => {
        const r = record(t);
        const kind = text(r?.kind);
        return kind ? [{ group: text(r?.group) ?? "", kind, name: text(r?.name) || null }] : [];
      }),
    });
  }
  return grants;
}
