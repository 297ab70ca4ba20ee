// The Services one scope group sees, as a read-only map over two shared parts:
// the mesh-wide Services (one map per compiled mesh, the same object in every
// group's view and kept across model changes that did not touch them) and the
// group's own namespace-local ones. Building every group's view as its own
// 1,000-entry map, for every version kept in history, cost 10 groups × 32
// versions of near-identical maps; sharing the parts also lets a diff skip a
// part whose map did not change (the same object means the same Services).
import type { CompiledService } from "./snapshot-compiled.ts";

export type ServiceMap = ReadonlyMap<string, CompiledService>;

const EMPTY: ServiceMap = new Map();

export class ScopedServices implements ReadonlyMap<string, CompiledService> {
  readonly meshWide: ServiceMap;
  readonly local: ServiceMap;

  /** `meshWide` and `local` never share a key: a Service is either mesh-wide or local to its namespace. */
  constructor(meshWide: ServiceMap, local: ServiceMap = EMPTY) {
    this.meshWide = meshWide;
    this.local = local;
  }

  get size(): number {
    return this.meshWide.size + this.local.size;
  }

  get(key: string): CompiledService | undefined {
    return this.meshWide.get(key) ?? this.local.get(key);
  }

  has(key: string): boolean {
    return this.meshWide.has(key) || this.local.has(key);
  }

  forEach(fn: (value: CompiledService, key: string, map: ReadonlyMap<string, CompiledService>) => void): void {
    for (const [key, value] of this) fn(value, key, this);
  }

  *entries(): MapIterator<[string, CompiledService]> {
    yield* this.meshWide.entries();
    yield* this.local.entries();
  }

  *keys(): MapIterator<string> {
    yield* this.meshWide.keys();
    yield* this.local.keys();
  }

  *values(): MapIterator<CompiledService> {
    yield* this.meshWide.values();
    yield* this.local.values();
  }

  [Symbol.iterator](): MapIterator<[string, CompiledService]> {
    return this.entries();
  }
}
