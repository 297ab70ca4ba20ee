// The mesh model as the discovery server holds it: the latest one a source
// published (a model, or a function that builds it, so a source can report
// every event without rebuilding its model each time), compiled into
// SnapshotVersions when the debounce window closes. Until the first model
// there are no versions at all, and proxies wait rather than get an empty push.
import type { MeshModel } from "./mesh-state.ts";
import { SnapshotVersions } from "./snapshot-versions.ts";

export type ModelSource = MeshModel | (() => MeshModel);

export type Applied =
  | { kind: "nothing-pending" }
  /** Building the model threw; the last version stays. */
  | { kind: "failed"; err: unknown }
  /** The first model: every group's view is new. */
  | { kind: "first" }
  | { kind: "updated"; changed: ReadonlySet<string> };

export interface PublishedModelOptions {
  initial?: MeshModel;
  epoch: string;
  historyDepth?: number;
}

export class PublishedModel {
  readonly #epoch: string;
  readonly #historyDepth: number | undefined;
  #versions: SnapshotVersions | null;
  #pending: ModelSource | null = null;

  constructor(options: PublishedModelOptions) {
    this.#epoch = options.epoch;
    this.#historyDepth = options.historyDepth;
    this.#versions = options.initial ? this.#create(options.initial) : null;
  }

  /** Null until the first model has been applied. */
  get versions(): SnapshotVersions | null {
    return this.#versions;
  }

  /** Replaces whatever was pending: only the latest model of a burst is ever built. */
  publish(model: ModelSource): void {
    this.#pending = model;
  }

  apply(): Applied {
    const pending = this.#pending;
    if (!pending) return { kind: "nothing-pending" };
    this.#pending = null;
    let model: MeshModel;
    try {
      model = typeof pending === "function" ? pending() : pending;
    } catch (err) {
      return { kind: "failed", err };
    }
    if (!this.#versions) {
      this.#versions = this.#create(model);
      return { kind: "first" };
    }
    return { kind: "updated", changed: new Set(this.#versions.update(model)) };
  }

  #create(model: MeshModel): SnapshotVersions {
    return new SnapshotVersions(model, { epoch: this.#epoch, historyDepth: this.#historyDepth });
  }
}
