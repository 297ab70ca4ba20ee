// The routes one scope group sees, keyed by parent Service, over two shared
// parts like its Services (snapshot-scoped-services.ts): the producer routes
// of mesh-wide Services (one map per compiled mesh, the same object in every
// group's view) and the namespace's own part, which holds its consumer routes
// (and the producer routes of its namespace-local Services). A consumer entry
// hides the producer one for the same Service: GAMMA's "consumer routes win".
import type { ServiceRoutes } from "../../api/gen/weft/discovery/v1/ServiceRoutes.ts";

export interface CompiledRoutes {
  /** "namespace/name" of the parent Service. */
  key: string;
  message: ServiceRoutes;
  /** The message's wire bytes, also its fingerprint. */
  encoded: Buffer;
}

export type RouteMap = ReadonlyMap<string, CompiledRoutes>;

export const EMPTY_ROUTES: RouteMap = new Map();

export class ScopedRoutes {
  readonly meshWide: RouteMap;
  readonly local: RouteMap;

  constructor(meshWide: RouteMap, local: RouteMap = EMPTY_ROUTES) {
    this.meshWide = meshWide;
    this.local = local;
  }

  get(key: string): CompiledRoutes | undefined {
    return this.local.get(key) ?? this.meshWide.get(key);
  }

  has(key: string): boolean {
    return this.local.has(key) || this.meshWide.has(key);
  }

  *keys(): Generator<string> {
    yield* this.local.keys();
    for (const key of this.meshWide.keys()) if (!this.local.has(key)) yield key;
  }

  *values(): Generator<CompiledRoutes> {
    for (const key of this.keys()) {
      const value = this.get(key);
      if (value) yield value;
    }
  }
}

function same(a: CompiledRoutes | undefined, b: CompiledRoutes | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.encoded.equals(b.encoded));
}

/** Keys whose entry may differ: only those of parts that are not the very same map objects. */
function candidates(from: ScopedRoutes, to: ScopedRoutes): Set<string> {
  const keys = new Set<string>();
  if (from.meshWide !== to.meshWide) for (const map of [from.meshWide, to.meshWide]) for (const k of map.keys()) keys.add(k);
  if (from.local !== to.local) for (const map of [from.local, to.local]) for (const k of map.keys()) keys.add(k);
  return keys;
}

export function sameRoutes(a: ScopedRoutes, b: ScopedRoutes): boolean {
  for (const key of candidates(a, b)) if (!same(a.get(key), b.get(key))) return false;
  return true;
}

/** What turns `from` into `to` (null: everything), sorted by key. */
export function diffRoutes(from: ScopedRoutes | null, to: ScopedRoutes): { changed: CompiledRoutes[]; removed: string[] } {
  const keys = from ? candidates(from, to) : new Set(to.keys());
  const changed: CompiledRoutes[] = [];
  const removed: string[] = [];
  for (const key of keys) {
    const now = to.get(key);
    const before = from?.get(key);
    if (now && !same(before, now)) changed.push(now);
    else if (!now && before) removed.push(key);
  }
  changed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { changed, removed: removed.sort() };
}
