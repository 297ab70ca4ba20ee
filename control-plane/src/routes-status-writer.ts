// Writes GAMMA route status through the status subresource: the I/O shell
// around routes-status.ts. Rate-limited (one queue, latest desired status per
// route wins), and never in the way of routing: a control plane without the
// RBAC to write status (or with an apiserver refusing it) logs that once and
// keeps serving snapshots.
import type { Logger } from "../../lib/log.ts";
import { systemClock, type Clock } from "../../lib/clock.ts";
import type { RouteKind } from "./routes-model.ts";
import { record, text } from "./routes-refs.ts";
import { desiredParents } from "./routes-status.ts";
import type { RouteOutcome } from "./routes-translate.ts";

export interface StatusWrite {
  kind: RouteKind;
  namespace: string;
  name: string;
  /** The whole object with its new status (and its resourceVersion: a stale write fails with 409). */
  body: Record<string, unknown>;
}

/** Replaces the object's status; rejects with an error carrying the HTTP `code` on failure. */
export type WriteStatus = (write: StatusWrite) => Promise<void>;

export const ROUTE_PLURALS: Record<RouteKind, string> = { HTTPRoute: "httproutes", GRPCRoute: "grpcroutes" };
export const ROUTE_VERSION = "v1";

export interface RouteStatusWriterOptions {
  write: WriteStatus;
  logger: Logger;
  clock?: Clock;
  /** Writes per second at most (default 10). */
  perSecond?: number;
  /** RFC 3339 time now, for lastTransitionTime. */
  now?: () => string;
}

export interface RouteStatusInput {
  outcome: RouteOutcome;
  /** The route object as the informer has it. */
  object: unknown;
}

const FORBIDDEN_RETRY_MS = 60_000;
const FAILURE_RETRY_MS = 5_000;

export class RouteStatusWriter {
  readonly #options: RouteStatusWriterOptions;
  readonly #clock: Clock;
  readonly #gapMs: number;
  readonly #queue = new Map<string, StatusWrite>();
  /** What was last sent per route, against which resourceVersion: the informer may not have seen it yet. */
  readonly #sent = new Map<string, { resourceVersion: string; parents: string }>();
  #pumping = false;
  #blockedUntil = 0;
  #forbiddenLogged = false;
  #retry: unknown = null;
  #last: readonly RouteStatusInput[] = [];
  #stopped = false;

  constructor(options: RouteStatusWriterOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#gapMs = 1000 / (options.perSecond ?? 10);
  }

  /** Queues a write for every route whose status differs from what it should be. */
  reconcile(items: readonly RouteStatusInput[]): void {
    if (this.#stopped) return;
    this.#last = items;
    if (this.#clock.now() < this.#blockedUntil) return;
    const now = this.#options.now?.() ?? new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const live = new Set<string>();
    for (const { outcome, object } of items) {
      const key = `${outcome.kind}/${outcome.namespace}/${outcome.name}`;
      live.add(key);
      const parents = desiredParents(object, outcome, now);
      if (!parents) {
        this.#queue.delete(key);
        continue;
      }
      const o = record(object) ?? {};
      const resourceVersion = text(record(o.metadata)?.resourceVersion) ?? "";
      const fingerprint = JSON.stringify(parents);
      const sent = this.#sent.get(key);
      if (sent && sent.resourceVersion === resourceVersion && sent.parents === fingerprint) continue;
      this.#queue.set(key, { kind: outcome.kind, namespace: outcome.namespace, name: outcome.name, body: { ...o, status: { ...(record(o.status) ?? {}), parents } } });
      this.#sent.delete(key);
    }
    for (const key of this.#sent.keys()) if (!live.has(key)) this.#sent.delete(key);
    void this.#pump();
  }

  stop(): void {
    this.#stopped = true;
    this.#queue.clear();
    if (this.#retry !== null) this.#clock.clearTimeout(this.#retry);
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        const next = this.#queue.entries().next();
        if (next.done || this.#stopped) return;
        const [key, write] = next.value;
        this.#queue.delete(key);
        const outcome = await this.#write(key, write);
        if (outcome === "forbidden") return;
        await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, this.#gapMs));
      }
    } finally {
      this.#pumping = false;
    }
  }

  async #write(key: string, write: StatusWrite): Promise<"ok" | "forbidden" | "failed"> {
    const log = this.#options.logger;
    try {
      await this.#options.write(write);
      const resourceVersion = text(record(write.body.metadata)?.resourceVersion) ?? "";
      this.#sent.set(key, { resourceVersion, parents: JSON.stringify(record(write.body.status)?.parents) });
      this.#forbiddenLogged = false;
      return "ok";
    } catch (err) {
      const code = err && typeof err === "object" && "code" in err ? (err as { code: unknown }).code : undefined;
      // Stale (409) or gone (404): the informer brings the newer object, and a new reconcile with it.
      if (code === 409 || code === 404) return "failed";
      if (code === 403 || code === 401) {
        if (!this.#forbiddenLogged) log.warn({ route: key, code }, "cannot write route status (RBAC): routing works, but routes' status stays unwritten; retrying every minute");
        this.#forbiddenLogged = true;
        this.#queue.clear();
        this.#blockedUntil = this.#clock.now() + FORBIDDEN_RETRY_MS;
        this.#scheduleRetry(FORBIDDEN_RETRY_MS);
        return "forbidden";
      }
      log.warn({ route: key, err: err instanceof Error ? err.message : String(err) }, "route status write failed; retrying");
      this.#scheduleRetry(FAILURE_RETRY_MS);
      return "failed";
    }
  }

  #scheduleRetry(ms: number): void {
    if (this.#retry !== null || this.#stopped) return;
    this.#retry = this.#clock.setTimeout(() => {
      this.#retry = null;
      this.reconcile(this.#last);
    }, ms);
  }
}
