// What a GAMMA route's status.parents must become (routes-translate.ts says
// why), merged into what the object has. Pure: the writer
// (routes-status-writer.ts) only sends what this returns.
//
// Entries of other controllers are kept as they are. A condition keeps its
// lastTransitionTime while its status does not change, so an unchanged route
// produces an identical status and nothing is written (no write loop with the
// informer that sees our own writes).
import { MESH_CONTROLLER_NAME } from "./routes-model.ts";
import { list, record, text } from "./routes-refs.ts";
import type { ConditionOutcome, RouteOutcome } from "./routes-translate.ts";

export interface StatusCondition {
  type: string;
  status: "True" | "False";
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
}

export interface StatusParent {
  parentRef: Record<string, unknown>;
  controllerName: string;
  conditions: StatusCondition[];
}

/** The status.parents the route should have, or null when it already has exactly that. */
export function desiredParents(current: unknown, outcome: RouteOutcome, now: string): unknown[] | null {
  const existing = list(record(record(current)?.status)?.parents);
  const others = existing.filter((p) => text(record(p)?.controllerName) !== MESH_CONTROLLER_NAME);
  const ours = existing.filter((p) => text(record(p)?.controllerName) === MESH_CONTROLLER_NAME).map((p) => record(p) ?? {});
  const wanted: StatusParent[] = outcome.parents.map((parent) => {
    const before = ours.find((p) => sameParentRef(record(p.parentRef) ?? {}, parent.parentRef));
    const conditions = list(before?.conditions).map((c) => record(c) ?? {});
    return {
      parentRef: parent.parentRef,
      controllerName: MESH_CONTROLLER_NAME,
      conditions: [condition("Accepted", parent.accepted, conditions, outcome.generation, now), condition("ResolvedRefs", parent.resolvedRefs, conditions, outcome.generation, now)],
    };
  });
  const next = [...others, ...wanted];
  return canonical(existing) === canonical(next) ? null : next;
}

function condition(type: string, outcome: ConditionOutcome, existing: Record<string, unknown>[], generation: number, now: string): StatusCondition {
  const status = outcome.status ? "True" : "False";
  const before = existing.find((c) => c.type === type);
  const since = before && before.status === status ? text(before.lastTransitionTime) : undefined;
  return { type, status, reason: outcome.reason, message: outcome.message, observedGeneration: generation, lastTransitionTime: since ?? now };
}

const REF_DEFAULTS: Record<string, unknown> = { group: "gateway.networking.k8s.io", kind: "Gateway" };

function sameParentRef(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return ["group", "kind", "namespace", "name", "sectionName", "port"].every((k) => (a[k] ?? REF_DEFAULTS[k]) === (b[k] ?? REF_DEFAULTS[k]));
}

/** A form that ignores key order, which the apiserver need not keep. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    const r = record(v);
    return r ? Object.fromEntries(Object.keys(r).sort().map((k) => [k, r[k]])) : v;
  });
}
