// The state machine of one proxy's discovery stream, as one pure transition
// function: events in (a message from the proxy, a new version of its view, a
// snapshot handed to the transport, the transport ending), new state and
// actions out. The shell (discovery-connection.ts) only performs the actions.
//
// At most one version is being sent or in flight per stream: a change that
// arrives while a message waits for a write slot, or while the proxy has not
// yet answered, is sent (as a delta from what it ACKed) once it does. A NACKed
// delta is followed at once by a full snapshot (the proxy may simply have lost
// its base); a NACKed full snapshot is not resent until the view changes, so a
// proxy that refuses some content cannot make us loop.
//
// A stream counts in its group's subscribers from its Hello (or from the first
// model, if it said Hello before there was one) until it closes; whichever way
// it closes (refused by us or ended by the transport), `release` is asked for
// exactly once.
import type { ProxyMessage__Output } from "../../api/gen/weft/discovery/v1/ProxyMessage.ts";
import type { Hello__Output } from "../../api/gen/weft/discovery/v1/Hello.ts";

export type StreamPhase = "awaiting-hello" | "active" | "closed";

export interface StreamState {
  phase: StreamPhase;
  /** The version the proxy is known to hold (ACKed, or named in its Hello). */
  held: string | null;
  inFlight: { version: string; full: boolean } | null;
  /** A send was asked for and its message is not yet handed to the transport (it waits for a write slot). */
  sending: boolean;
  /** Counted in its group's subscribers (said Hello, and a model exists). */
  subscribed: boolean;
  /** The proxy refused a full snapshot: send only a full one, and only once the view moves on. */
  refusedFull: string | null;
  nackTimes: number[];
}

export type CloseCode = "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "RESOURCE_EXHAUSTED";

export type StreamEvent =
  | { type: "message"; message: ProxyMessage__Output | null }
  | { type: "changed" }
  | { type: "sent"; version: string; full: boolean }
  /** The transport ended: the proxy went away, or the call was cancelled or failed. */
  | { type: "closed" };

export type StreamAction =
  | { type: "hello"; hello: Hello__Output }
  /** Count the stream in its group's subscribers. */
  | { type: "subscribe" }
  /** Send the message that brings the proxy from `held` (null: full snapshot) to the current view. */
  | { type: "send"; held: string | null }
  /** End the call with this status. */
  | { type: "close"; code: CloseCode; reason: string; message: string }
  /** The stream is over: give back what it holds (its subscription, if `unsubscribe`, and its place in the fan-out). */
  | { type: "release"; unsubscribe: boolean }
  | { type: "count"; event: "ack" | "nack" | "stale-ack" | "stale-nack"; version: string; detail?: string };

export interface StreamContext {
  /** The group's current version, or null while no model has been published yet. */
  current: string | null;
  now: number;
  nackStormCount: number;
  nackStormWindowMs: number;
}

export interface Transition {
  state: StreamState;
  actions: StreamAction[];
}

export function initialStreamState(): StreamState {
  return { phase: "awaiting-hello", held: null, inFlight: null, sending: false, subscribed: false, refusedFull: null, nackTimes: [] };
}

const MAX_FIELD = 256;

export function transition(state: StreamState, event: StreamEvent, ctx: StreamContext): Transition {
  if (state.phase === "closed") return { state, actions: [] };
  switch (event.type) {
    case "sent":
      return { state: { ...state, sending: false, inFlight: { version: event.version, full: event.full } }, actions: [] };
    case "changed":
      if (state.phase !== "active") return { state, actions: [] };
      // The first model: streams that said Hello before it now subscribe and get it.
      if (!state.subscribed && ctx.current !== null) {
        return withSends({ ...state, subscribed: true }, [{ type: "subscribe" }, ...maybeSend(state, ctx)]);
      }
      return withSends(state, maybeSend(state, ctx));
    case "message":
      return onMessage(state, event.message, ctx);
    case "closed":
      return { state: { ...state, phase: "closed" }, actions: [release(state)] };
  }
}

function onMessage(state: StreamState, message: ProxyMessage__Output | null, ctx: StreamContext): Transition {
  if (message === null) return close(state, "INVALID_ARGUMENT", "malformed", "message could not be decoded as weft.discovery.v1.ProxyMessage");
  if (state.phase === "awaiting-hello") {
    if (message.message !== "hello" || !message.hello) {
      return close(state, "INVALID_ARGUMENT", "expected-hello", "the first message on a stream must be a Hello");
    }
    const hello = message.hello;
    for (const [name, value] of Object.entries(hello)) {
      if (typeof value === "string" && value.length > MAX_FIELD) {
        return close(state, "INVALID_ARGUMENT", "field-too-long", `Hello.${name} is longer than ${MAX_FIELD} characters`);
      }
    }
    const subscribed = ctx.current !== null;
    const next: StreamState = { ...state, phase: "active", held: hello.heldVersion || null, subscribed };
    const actions: StreamAction[] = [{ type: "hello", hello }];
    if (subscribed) actions.push({ type: "subscribe" }, send(next.held));
    return withSends(next, actions);
  }
  switch (message.message) {
    case "hello":
      return close(state, "FAILED_PRECONDITION", "duplicate-hello", "Hello was already received on this stream");
    case "ack": {
      const version = message.ack?.version ?? "";
      if (!state.inFlight || state.inFlight.version !== version) {
        return { state, actions: [{ type: "count", event: "stale-ack", version }] };
      }
      const next: StreamState = { ...state, held: version, inFlight: null, refusedFull: null };
      return withSends(next, [{ type: "count", event: "ack", version }, ...maybeSend(next, ctx)]);
    }
    case "nack": {
      const version = message.nack?.version ?? "";
      const detail = (message.nack?.reason ?? "").slice(0, MAX_FIELD);
      const nackTimes = [...state.nackTimes.filter((t) => ctx.now - t < ctx.nackStormWindowMs), ctx.now];
      if (nackTimes.length > ctx.nackStormCount) {
        return close({ ...state, nackTimes }, "RESOURCE_EXHAUSTED", "nack-storm",
          `more than ${ctx.nackStormCount} NACKs in ${ctx.nackStormWindowMs} ms; reconnect later`);
      }
      if (!state.inFlight || state.inFlight.version !== version) {
        return { state: { ...state, nackTimes }, actions: [{ type: "count", event: "stale-nack", version, detail }] };
      }
      const wasFull = state.inFlight.full;
      const next: StreamState = { ...state, nackTimes, inFlight: null, held: wasFull ? state.held : null, refusedFull: wasFull ? version : null };
      const count: StreamAction = { type: "count", event: "nack", version, detail };
      return withSends(next, wasFull ? [count] : [count, send(null)]);
    }
    default:
      return close(state, "INVALID_ARGUMENT", "empty-message", "ProxyMessage carries no hello, ack or nack");
  }
}

function maybeSend(state: StreamState, ctx: StreamContext): StreamAction[] {
  if (state.inFlight || state.sending || ctx.current === null) return [];
  if (state.refusedFull !== null) return state.refusedFull === ctx.current ? [] : [send(null)];
  return state.held === ctx.current ? [] : [send(state.held)];
}

function send(held: string | null): StreamAction {
  return { type: "send", held };
}

/** A send asked for marks the stream as sending until the message is handed to the transport ("sent"). */
function withSends(state: StreamState, actions: StreamAction[]): Transition {
  return { state: actions.some((a) => a.type === "send") ? { ...state, sending: true } : state, actions };
}

function release(state: StreamState): StreamAction {
  return { type: "release", unsubscribe: state.subscribed };
}

function close(state: StreamState, code: CloseCode, reason: string, message: string): Transition {
  return { state: { ...state, phase: "closed" }, actions: [{ type: "close", code, reason, message }, release(state)] };
}
