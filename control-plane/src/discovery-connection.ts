// One proxy's discovery stream: the call's events go into the stream state
// machine (discovery-stream.ts) and its actions come out here as writes,
// statuses, subscriptions, metrics and log lines. The connection keeps no
// state of its own beyond the machine's: every change, its end included, is a
// transition.
import * as grpc from "@grpc/grpc-js";
import type { Tracer } from "@opentelemetry/api";
import type { ProxyMessage__Output } from "../../api/gen/weft/discovery/v1/ProxyMessage.ts";
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/log.ts";
import type { DiscoveryMetrics } from "./discovery-metrics.ts";
import { writeWithDeadline, type MessageSink } from "./discovery-stream-writer.ts";
import { initialStreamState, transition, type StreamAction, type StreamEvent, type StreamState } from "./discovery-stream.ts";
import type { ReleaseSlot, WriteSlots } from "./discovery-write-slots.ts";
import type { ProxyIdentity } from "./mesh-state.ts";
import type { SnapshotVersions, PreparedSnapshot } from "./snapshot-versions.ts";

/** What the server's deserializer hands over for bytes that are not a ProxyMessage: a value the machine refuses, not an exception. */
export const MALFORMED = Symbol("malformed");
export type IncomingMessage = ProxyMessage__Output | typeof MALFORMED;

/** Small deltas go straight out; anything larger (and every full snapshot) waits for a write slot. */
export const LARGE_MESSAGE_BYTES = 64 * 1024;

/** What a connection needs of its call (a gRPC server duplex stream is one). */
export interface ProxyCall extends MessageSink {
  readonly cancelled: boolean;
  on(event: "data", listener: (message: IncomingMessage) => void): unknown;
  on(event: "end" | "close" | "cancelled" | "error", listener: () => void): unknown;
  /** Ends the call with a status (grpc-js's way for a server handler). */
  emit(event: "error", status: Partial<grpc.StatusObject>): boolean;
  end(): void;
}

/** The part of SnapshotVersions a connection uses. */
export type ConnectionViews = Pick<SnapshotVersions, "currentVersion" | "subscribe" | "unsubscribe" | "prepare" | "classify">;

/** What every connection of one server shares. */
export interface ConnectionShared {
  /** Every group's versions; null until the first model. */
  views(): ConnectionViews | null;
  slots: WriteSlots;
  clock: Clock;
  /** How long a large message may hold its write slot before the slot goes to the next stream. */
  writeDeadlineMs: number;
  nackStorm: { count: number; windowMs: number };
  metrics: DiscoveryMetrics;
  logger: Logger;
  tracer?: Tracer;
  /** The stream is over and has given back its subscription; the server drops it from the fan-out. */
  released(connection: Connection): void;
}

export class Connection {
  readonly id: number;
  readonly proxy: ProxyIdentity;
  readonly #call: ProxyCall;
  readonly #shared: ConnectionShared;
  #state: StreamState = initialStreamState();
  /** The workload its Hello named; null until the Hello. */
  #workload: string | null = null;
  /** Its scope group: chosen at the Hello (policies select pods), re-chosen after every applied model. */
  #group: string | null = null;

  constructor(id: number, proxy: ProxyIdentity, call: ProxyCall, shared: ConnectionShared) {
    this.id = id;
    this.proxy = proxy;
    this.#call = call;
    this.#shared = shared;
    call.on("data", (message) => this.#receive(message));
    call.on("end", () => {
      this.#step({ type: "closed" });
      call.end();
    });
    const closed = () => this.#step({ type: "closed" });
    call.on("error", closed);
    call.on("close", closed);
    call.on("cancelled", closed);
  }

  get state(): StreamState {
    return this.#state;
  }

  /** Ends the call from our side (shutdown); the transport's own events then close the stream. */
  end(): void {
    this.#call.end();
  }

  /** Null until the Hello (or, after it, until the first model). */
  get group(): string | null {
    return this.#group;
  }

  /** The group's view moved to a new version (or the first model arrived, or the proxy changed group). */
  changed(): void {
    this.#step({ type: "changed" });
  }

  /**
   * Chooses the group again under the model just applied; true when the proxy moved (its policy
   * changed). A subscribed stream takes its subscription along, and its next send is a delta from
   * the version it holds, wherever that version came from.
   */
  regroup(): boolean {
    const views = this.#shared.views();
    if (!views || this.#workload === null || this.#state.phase === "closed") return false;
    const next = views.classify(this.proxy.namespace, this.#workload);
    const previous = this.#group;
    if (next === previous) return false;
    if (this.#state.subscribed) {
      if (previous !== null) views.unsubscribe(previous);
      views.subscribe(next);
    }
    this.#group = next;
    return true;
  }

  #receive(message: IncomingMessage): void {
    try {
      this.#step({ type: "message", message: message === MALFORMED ? null : message });
    } catch (err) {
      // A bug in our own code must cost one stream, never the server.
      this.#shared.logger.error({ err, stream: this.id }, "discovery stream failed");
      this.#call.emit("error", { code: grpc.status.INTERNAL, details: "internal error" });
    }
  }

  #step(event: StreamEvent): void {
    const { clock, nackStorm } = this.#shared;
    const views = this.#shared.views();
    if (event.type === "message" && this.#state.phase === "awaiting-hello" && event.message?.message === "hello" && event.message.hello) {
      // The pod name (its namespace is the certificate's); an over-long one is refused by the machine.
      const workload = event.message.hello.workload;
      this.#workload = workload.length <= 256 ? workload : null;
    }
    if (this.#group === null) this.regroup();
    const group = this.#group;
    const context = { current: views && group !== null ? views.currentVersion(group) : null, now: clock.now(), nackStormCount: nackStorm.count, nackStormWindowMs: nackStorm.windowMs };
    const { state, actions } = transition(this.#state, event, context);
    this.#state = state;
    for (const action of actions) this.#perform(action);
  }

  #perform(action: StreamAction): void {
    const { metrics, logger } = this.#shared;
    switch (action.type) {
      case "hello":
        logger.info({ stream: this.id, proxy: this.proxy, workload: action.hello.workload, group: this.#group, held: action.hello.heldVersion, proxyVersion: action.hello.proxyVersion }, "proxy subscribed");
        return;
      case "subscribe":
        if (this.#group !== null) this.#shared.views()?.subscribe(this.#group);
        return;
      case "send":
        return this.#send(action.held);
      case "close":
        metrics.refused.inc({ reason: action.reason });
        logger.warn({ stream: this.id, proxy: this.proxy, reason: action.reason }, action.message);
        this.#call.emit("error", { code: grpc.status[action.code], details: `${action.reason}: ${action.message}` });
        return;
      case "release":
        if (action.unsubscribe && this.#group !== null) this.#shared.views()?.unsubscribe(this.#group);
        this.#shared.released(this);
        return;
      case "count":
        if (action.event === "ack") metrics.acks.inc();
        else if (action.event === "nack") {
          metrics.nacks.inc();
          logger.warn({ stream: this.id, proxy: this.proxy, version: action.version, reason: action.detail }, "proxy refused version");
        } else {
          metrics.ignored.inc({ reason: action.event });
          logger.debug({ stream: this.id, version: action.version, event: action.event }, "ignored stale message");
        }
        return;
    }
  }

  #send(held: string | null): void {
    // The machine asks for a send only once a model exists.
    const views = this.#shared.views();
    if (!views || this.#group === null) return;
    const prepared = views.prepare(this.#group, held);
    if (!prepared.full && prepared.encoded.length < LARGE_MESSAGE_BYTES) return this.#write(prepared);
    // A stream waits for its slot holding no message: when the slot frees it gets what brings it
    // to its group's version at that moment (later changes of a burst ride along instead of
    // following as more large deltas), and a thousand waiting streams keep no stale bytes alive.
    this.#shared.slots.acquire((release) => {
      const now = this.#shared.views();
      if (this.#state.phase === "closed" || this.#call.cancelled || !now || this.#group === null) return release();
      this.#write(now.prepare(this.#group, held), release);
    });
  }

  /** With `release`, the write holds a slot until its bytes leave or its deadline passes. */
  #write(prepared: PreparedSnapshot, release?: ReleaseSlot): void {
    this.#step({ type: "sent", version: prepared.version, full: prepared.full });
    const bytes = prepared.encoded;
    this.#shared.metrics.pushes.inc({ kind: prepared.full ? "full" : "delta" });
    // Ends when the bytes are handed to the stream (large ones: when they flush).
    const span = this.#shared.tracer?.startSpan("weft.discovery.push", {
      attributes: {
        "weft.snapshot.version": prepared.version,
        "weft.snapshot.kind": prepared.full ? "full" : "delta",
        "weft.snapshot.bytes": bytes.length,
        "weft.proxy.namespace": this.proxy.namespace,
        "weft.proxy.service_account": this.proxy.serviceAccount,
        "weft.discovery.stream": this.id,
      },
    });
    if (!release) {
      this.#call.write(bytes);
      span?.end();
      return;
    }
    const { clock, writeDeadlineMs, logger } = this.#shared;
    writeWithDeadline(this.#call, bytes, { clock, deadlineMs: writeDeadlineMs }, {
      left: () => {
        span?.end();
        release();
      },
      overdue: () => {
        logger.debug({ stream: this.id, proxy: this.proxy, version: prepared.version }, "proxy slow to read a large message; its write slot goes to the next stream");
        release();
      },
    });
  }
}
