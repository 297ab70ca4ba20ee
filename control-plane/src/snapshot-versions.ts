// Versions of every scope group's view, and the full or delta message a proxy
// gets given the version it holds. Pure bookkeeping: no timers, no I/O.
//
// A version is "<epoch>.<sequence>". The epoch is fixed for the life of the
// process, so a proxy holding a version from an earlier control plane gets a
// full snapshot; within an epoch, each group keeps its last `historyDepth`
// views so a proxy that reconnects (or lags) gets only what changed since.
import type { Snapshot } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import type { MeshModel } from "./mesh-state.ts";
import { buildView, compileMesh, diffViews, sameView, type CompiledMesh, type ProxyView } from "./snapshot-builder.ts";
import { encodePolicy, encodeSnapshot } from "./snapshot-encode.ts";

export interface PreparedSnapshot {
  version: string;
  full: boolean;
  baseVersion: string;
  message: Snapshot;
  /** The message's wire bytes, assembled once from the Services' own bytes and shared by every stream that sends it. */
  encoded: Buffer;
}

interface GroupState {
  history: { seq: number; view: ProxyView }[];
  subscribers: number;
  idleSinceSeq: number;
}

export interface SnapshotVersionsOptions {
  epoch: string;
  historyDepth?: number;
  /**
   * Bytes of deltas kept for reuse at the current version (default 8 MiB). Full snapshots are always
   * kept (one per group). After a burst, streams of one group hold many different versions and each
   * base needs its own large delta: without a bound, 10 groups × 9 bases × 600 KB stayed alive.
   */
  deltaCacheBytes?: number;
  /** Groups without subscribers are kept this many model updates, then forgotten. */
  idleGroupUpdates?: number;
}

export class SnapshotVersions {
  readonly epoch: string;
  readonly #historyDepth: number;
  readonly #idleGroupUpdates: number;
  #seq = 0;
  #mesh: CompiledMesh;
  readonly #groups = new Map<string, GroupState>();
  #prepared = new Map<string, PreparedSnapshot>();
  #preparedDeltaBytes = 0;
  readonly #deltaCacheBytes: number;

  constructor(model: MeshModel, options: SnapshotVersionsOptions) {
    this.epoch = options.epoch;
    this.#historyDepth = options.historyDepth ?? 32;
    this.#deltaCacheBytes = options.deltaCacheBytes ?? 8 * 1024 * 1024;
    this.#idleGroupUpdates = options.idleGroupUpdates ?? 600;
    this.#mesh = compileMesh(model);
  }

  get sequence(): number {
    return this.#seq;
  }

  get groupCount(): number {
    return this.#groups.size;
  }

  /** Applies a new model; returns the groups whose view changed (their proxies need a push). */
  update(model: MeshModel): string[] {
    this.#mesh = compileMesh(model, this.#mesh);
    const seq = this.#seq + 1;
    const changed: string[] = [];
    for (const [key, group] of this.#groups) {
      if (group.subscribers === 0 && seq - group.idleSinceSeq > this.#idleGroupUpdates) {
        this.#groups.delete(key);
        continue;
      }
      const view = buildView(this.#mesh, key);
      const current = group.history[group.history.length - 1];
      if (current && sameView(current.view, view)) continue;
      group.history.push({ seq, view });
      if (group.history.length > this.#historyDepth) group.history.shift();
      changed.push(key);
    }
    // Every update takes a new sequence number, even when no group changed, so a
    // group created later never reuses a number some earlier view was known by.
    this.#seq = seq;
    if (changed.length > 0) {
      this.#prepared = new Map();
      this.#preparedDeltaBytes = 0;
    }
    return changed;
  }

  subscribe(group: string): void {
    this.#group(group).subscribers++;
  }

  unsubscribe(group: string): void {
    const state = this.#groups.get(group);
    if (!state) return;
    state.subscribers = Math.max(0, state.subscribers - 1);
    if (state.subscribers === 0) state.idleSinceSeq = this.#seq;
  }

  currentVersion(group: string): string {
    return this.#format(this.#current(this.#group(group)).seq);
  }

  /** The message that brings a proxy from `held` (a version string, or null/"" for nothing) to the group's current view. */
  prepare(group: string, held: string | null): PreparedSnapshot {
    const state = this.#group(group);
    const current = this.#current(state);
    const base = this.#findBase(state, held);
    const cacheKey = `${group}|${base ? base.seq : "full"}`;
    const cached = this.#prepared.get(cacheKey);
    if (cached) return cached;
    const version = this.#format(current.seq);
    const delta = diffViews(base ? base.view : null, current.view);
    const baseVersion = base ? this.#format(base.seq) : "";
    const message: Snapshot = {
      version,
      full: base === null,
      baseVersion,
      services: delta.services,
      removedServices: delta.removed,
      policy: delta.policy,
    };
    const encoded = encodeSnapshot({
      version,
      full: base === null,
      baseVersion,
      services: delta.compiled.map((s) => s.encoded),
      removedServices: delta.removed,
      policy: delta.policy ? encodePolicy(delta.policy) : null,
    });
    const prepared: PreparedSnapshot = { version, full: base === null, baseVersion, message, encoded };
    if (prepared.full) this.#prepared.set(cacheKey, prepared);
    else if (this.#preparedDeltaBytes + encoded.length <= this.#deltaCacheBytes) {
      this.#prepared.set(cacheKey, prepared);
      this.#preparedDeltaBytes += encoded.length;
    }
    return prepared;
  }

  #findBase(state: GroupState, held: string | null): { seq: number; view: ProxyView } | null {
    const seq = this.#parse(held);
    if (seq === null) return null;
    return state.history.find((h) => h.seq === seq) ?? null;
  }

  #parse(version: string | null): number | null {
    if (!version) return null;
    const dot = version.lastIndexOf(".");
    if (dot < 0 || version.slice(0, dot) !== this.epoch) return null;
    const text = version.slice(dot + 1);
    if (!/^\d{1,15}$/.test(text)) return null;
    return Number(text);
  }

  #format(seq: number): string {
    return `${this.epoch}.${seq}`;
  }

  #group(key: string): GroupState {
    let state = this.#groups.get(key);
    if (!state) {
      state = { history: [{ seq: this.#seq, view: buildView(this.#mesh, key) }], subscribers: 0, idleSinceSeq: this.#seq };
      this.#groups.set(key, state);
    }
    return state;
  }

  #current(state: GroupState): { seq: number; view: ProxyView } {
    const current = state.history[state.history.length - 1];
    if (!current) throw new Error("group without history");
    return current;
  }
}
