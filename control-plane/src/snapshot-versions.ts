// Versions of every scope group's view, and the full or delta message a proxy
// gets given the version it holds. Pure bookkeeping: no timers, no I/O.
//
// A version is "<epoch>.<sequence>". The epoch is fixed for the life of the
// process, so a proxy holding a version from an earlier control plane gets a
// full snapshot; within an epoch, each group keeps its last `historyDepth`
// views so a proxy that reconnects (or lags) gets only what changed since.
//
// Every view of every group takes its own sequence number, so a version names
// exactly one view: a proxy whose class changed (snapshot-authorization.ts)
// moves to another group of its namespace and gets a delta from the view it
// holds, found by its number in whichever group it came from; and a proxy that
// moved can never be told it is current by a number another group also uses.
import type { Snapshot } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import type { MeshModel } from "./mesh-state.ts";
import { buildView, classifyProxy, compileMesh, diffViews, sameView, type CompiledMesh, type ProxyClass, type ProxyView } from "./snapshot-builder.ts";
import { groupNamespace } from "./snapshot-authorization.ts";
import { encodePolicy, encodeSnapshot } from "./snapshot-encode.ts";

export interface PreparedSnapshot {
  version: string;
  full: boolean;
  baseVersion: string;
  message: Snapshot;
  /** The message's wire bytes, assembled once from the Services' own bytes and shared by every stream that sends it. */
  encoded: Buffer;
}

interface HistoryEntry {
  seq: number;
  view: ProxyView;
}

interface GroupState {
  namespace: string;
  /** A class group's policy, fixed for life; null for a bare namespace key (follows the namespace's policy). */
  fixed: ProxyClass | null;
  history: HistoryEntry[];
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
  /** Model updates applied. */
  #updates = 0;
  /** The next view's number. */
  #nextSeq = 0;
  /** Every view still in some group's history, by its number, with its group's namespace. */
  readonly #bySeq = new Map<number, { namespace: string; entry: HistoryEntry }>();
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

  /** Model updates applied so far. */
  get sequence(): number {
    return this.#updates;
  }

  get groupCount(): number {
    return this.#groups.size;
  }

  /** Applies a new model; returns the groups whose view changed (their proxies need a push). */
  update(model: MeshModel): string[] {
    this.#mesh = compileMesh(model, this.#mesh);
    this.#updates++;
    const changed: string[] = [];
    for (const [key, group] of this.#groups) {
      if (group.subscribers === 0 && this.#updates - group.idleSinceSeq > this.#idleGroupUpdates) {
        for (const h of group.history) this.#bySeq.delete(h.seq);
        this.#groups.delete(key);
        continue;
      }
      const view = buildView(this.#mesh, key, group.fixed ?? undefined);
      const current = group.history[group.history.length - 1];
      if (current && sameView(current.view, view)) continue;
      this.#push(group, view);
      if (group.history.length > this.#historyDepth) {
        const dropped = group.history.shift();
        if (dropped) this.#bySeq.delete(dropped.seq);
      }
      changed.push(key);
    }
    if (changed.length > 0) {
      this.#prepared = new Map();
      this.#preparedDeltaBytes = 0;
    }
    return changed;
  }

  /**
   * The scope group of a proxy in `namespace` whose Hello named `workload`, under the current
   * model (created on first ask). Proxies with the same policy get the same group.
   */
  classify(namespace: string, workload: string | null): string {
    const proxyClass = classifyProxy(this.#mesh, namespace, workload);
    this.#group(proxyClass.group, proxyClass);
    return proxyClass.group;
  }

  subscribe(group: string): void {
    this.#group(group).subscribers++;
  }

  unsubscribe(group: string): void {
    const state = this.#groups.get(group);
    if (!state) return;
    state.subscribers = Math.max(0, state.subscribers - 1);
    if (state.subscribers === 0) state.idleSinceSeq = this.#updates;
  }

  /** True when the group exists (asking for its version would otherwise create it). */
  has(group: string): boolean {
    return this.#groups.has(group);
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
      routes: delta.routes,
      removedRoutes: delta.removedRoutes,
    };
    const encoded = encodeSnapshot({
      version,
      full: base === null,
      baseVersion,
      services: delta.compiled.map((s) => s.encoded),
      removedServices: delta.removed,
      policy: delta.policy ? encodePolicy(delta.policy) : null,
      routes: delta.compiledRoutes.map((r) => r.encoded),
      removedRoutes: delta.removedRoutes,
    });
    const prepared: PreparedSnapshot = { version, full: base === null, baseVersion, message, encoded };
    if (prepared.full) this.#prepared.set(cacheKey, prepared);
    else if (this.#preparedDeltaBytes + encoded.length <= this.#deltaCacheBytes) {
      this.#prepared.set(cacheKey, prepared);
      this.#preparedDeltaBytes += encoded.length;
    }
    return prepared;
  }

  /** The view the proxy holds: in its own group's history, or in the one of its namespace it moved from. */
  #findBase(state: GroupState, held: string | null): HistoryEntry | null {
    const seq = this.#parse(held);
    if (seq === null) return null;
    const known = this.#bySeq.get(seq);
    // Another namespace's view is never a base: its removals would name that namespace's Services.
    return known && known.namespace === state.namespace ? known.entry : null;
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

  #group(key: string, fixed?: ProxyClass): GroupState {
    let state = this.#groups.get(key);
    if (!state) {
      // A class group's policy is known only from classify(): never guess one (it could be wider).
      if (!fixed && key !== groupNamespace(key)) throw new Error(`scope group ${key} is not known; classify the proxy first`);
      state = { namespace: groupNamespace(key), fixed: fixed ?? null, history: [], subscribers: 0, idleSinceSeq: this.#updates };
      this.#push(state, buildView(this.#mesh, key, fixed));
      this.#groups.set(key, state);
    }
    return state;
  }

  #push(state: GroupState, view: ProxyView): void {
    const entry = { seq: this.#nextSeq++, view };
    state.history.push(entry);
    this.#bySeq.set(entry.seq, { namespace: state.namespace, entry });
  }

  #current(state: GroupState): HistoryEntry {
    const current = state.history[state.history.length - 1];
    if (!current) throw new Error("group without history");
    return current;
  }
}
