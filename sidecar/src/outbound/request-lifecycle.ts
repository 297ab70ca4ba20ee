// The lifecycle of one outbound HTTP request, as one pure transition
// function: events in (a response head, an attempt's failure, a timer, the
// client leaving), the new state and actions out. The I/O shell in http.ts
// performs the actions and reports what happens as events; the attempts
// (attempt-h1.ts, attempt-h2.ts) only send and report.
//
// One attempt is in flight at a time. A failed one (a retryable status, a
// reset, no connection) is retried when the policy allows it and the
// Service's retry budget has a retry to give; the budget is asked only after
// the policy said yes, and while it answers the failed response is kept, so a
// refusal still relays it. A request ends exactly once (done), by the
// response it relayed, by an error the proxy answers itself (no endpoint,
// timeout, connection failure, a body that cannot be replayed), or by the
// client leaving; every later event is stale and changes nothing.
//
// Three timeouts, none of which cuts a response whose bytes still flow. The
// response timeout runs from the request fully sent (its body ended) until a
// response head is relayed, across retries and backoffs, and answers 504; once
// the head is relayed it no longer applies, so a long download or a gRPC
// stream (whose server sends its head early) is never cut by it. The idle
// timeout ends a request whose stream carried no byte either way for its
// length, and the total timeout (off unless set) the whole exchange; both
// answer 504 before a response, and break the response off after. A route
// may add a fourth, per attempt (timeouts.backendRequest): an attempt with no
// response head in time is given up and counts as a failed attempt, retried
// like a reset when the policy allows, else answered 504.
//
// An action that may report back at once (send, withdraw-budget, relay) is
// always the last of its list, so the shell can perform actions in order even
// when one of them dispatches the next event. Transitions without per-request
// data are module constants: the request that succeeds at its first attempt
// allocates nothing here.
import type { EffectiveRetry } from "../discovery/client-policy.ts";
import type { CancelReason } from "./endpoint-state.ts";
import { isRetryableOutcome, shouldRetry, type AttemptOutcome, type RetryRequest } from "./retry-policy.ts";

export type LifecycleState =
  | { readonly phase: "idle" }
  /** Attempt number `attempt` is being sent or awaits its response head. */
  | { readonly phase: "attempting"; readonly attempt: number }
  /** The policy would retry `outcome`; the budget is being asked. */
  | { readonly phase: "awaiting-budget"; readonly attempt: number; readonly outcome: AttemptOutcome; readonly backoffMs: number }
  /** `attempt` attempts failed; the next one starts when the backoff elapses. */
  | { readonly phase: "backing-off"; readonly attempt: number }
  /** A response is on its way to the client. */
  | { readonly phase: "relaying" }
  | { readonly phase: "done" };

/** Why the proxy answers a request itself; each is the weft-error the client sees. */
export type ProxyErrorCode = "no-endpoint" | "timeout" | "attempt-timeout" | "idle-timeout" | "total-timeout" | "connect-failure" | "upstream-reset" | "body-not-replayable" | "bad-header";

/** An outcome event is also the AttemptOutcome it reports, so reporting one allocates a single object. */
export type LifecycleEvent =
  /** `sent`: the request has no body, so it is sent in full with its head. */
  | { readonly type: "start"; readonly sent: boolean }
  /** The client's request body ended: the response timeout starts. */
  | { readonly type: "request-sent" }
  /** The balancer had no endpoint to offer. */
  | { readonly type: "no-endpoint" }
  | { readonly type: "response-head"; readonly kind: "response"; readonly status: number; readonly grpcStatus: number | undefined }
  | { readonly type: "attempt-failed"; readonly kind: "connect-failure" | "reset" }
  /** The proxy would not send the attempt at all (a body it no longer holds, a header HTTP/1.1 cannot carry). */
  | { readonly type: "attempt-refused"; readonly status: number; readonly code: ProxyErrorCode }
  | { readonly type: "budget"; readonly granted: boolean }
  | { readonly type: "backoff-elapsed" }
  /** The response timeout elapsed before a response head was relayed. */
  | { readonly type: "timeout" }
  /** The current attempt's own timeout (a route's backendRequest) elapsed before its response head. */
  | { readonly type: "attempt-timeout" }
  | { readonly type: "idle-timeout" }
  | { readonly type: "total-timeout" }
  | { readonly type: "client-gone" }
  | { readonly type: "relay-ended" };

export type LifecycleAction =
  /** Starts the response timeout (the policy's responseTimeoutMs); on expiry the shell reports "timeout". */
  | { readonly type: "arm-timeout" }
  /** Starts the idle and total timeouts the policy sets; the shell reports "idle-timeout" or "total-timeout". */
  | { readonly type: "arm-stream-timeouts" }
  /** Picks an endpoint and starts the next attempt; reports "no-endpoint" when there is none. */
  | { readonly type: "send" }
  /** Takes a retry from the Service's budget; reports "budget". */
  | { readonly type: "withdraw-budget" }
  /** Drops the failed attempt (its response is read and dropped, or its stream closed) and holds the body back. */
  | { readonly type: "discard-attempt" }
  | { readonly type: "count-retry"; readonly reason: string }
  /** Waits `ms`, then reports "backoff-elapsed". */
  | { readonly type: "schedule-backoff"; readonly ms: number }
  /** Gives up the attempt in flight; `reason` decides whether its endpoint is blamed. */
  | { readonly type: "cancel-attempt"; readonly reason: CancelReason }
  /** The attempt's response goes to the client (no retry will follow). */
  | { readonly type: "relay" }
  /** The proxy answers with its own error, in the caller's protocol, and the request is recorded. */
  | { readonly type: "respond-error"; readonly status: number; readonly code: ProxyErrorCode }
  /** Records how the request ended: the relayed response, or the client gone (499, nothing sent). */
  | { readonly type: "record"; readonly ending: "relayed" | "client-gone" };

/** What the transition reads besides the state: the request as the retry policy sees it, and the policy. */
export interface LifecycleContext extends RetryRequest {
  readonly retry: EffectiveRetry;
  readonly responseTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly totalTimeoutMs: number;
  readonly rng: () => number;
}

export interface Transition {
  readonly state: LifecycleState;
  readonly actions: readonly LifecycleAction[];
}

export const IDLE: LifecycleState = { phase: "idle" };
const RELAYING: LifecycleState = { phase: "relaying" };
const DONE: LifecycleState = { phase: "done" };
const FIRST_ATTEMPT: LifecycleState = { phase: "attempting", attempt: 1 };

const NONE: readonly LifecycleAction[] = [];
const SEND: LifecycleAction = { type: "send" };
const RELAY: LifecycleAction = { type: "relay" };
const CANCEL_TIMEOUT: LifecycleAction = { type: "cancel-attempt", reason: "timeout" };
const CANCEL_CLIENT_GONE: LifecycleAction = { type: "cancel-attempt", reason: "client-gone" };
const RESPOND_TIMEOUT: LifecycleAction = { type: "respond-error", status: 504, code: "timeout" };
const RESPOND_IDLE_TIMEOUT: LifecycleAction = { type: "respond-error", status: 504, code: "idle-timeout" };
const RESPOND_TOTAL_TIMEOUT: LifecycleAction = { type: "respond-error", status: 504, code: "total-timeout" };
const ARM_RESPONSE: LifecycleAction = { type: "arm-timeout" };
const ARM_STREAM: LifecycleAction = { type: "arm-stream-timeouts" };
const RECORD_CLIENT_GONE: LifecycleAction = { type: "record", ending: "client-gone" };

const START: Transition = { state: FIRST_ATTEMPT, actions: [SEND] };
const START_RESPONSE_TIMED: Transition = { state: FIRST_ATTEMPT, actions: [ARM_RESPONSE, SEND] };
const START_STREAM_TIMED: Transition = { state: FIRST_ATTEMPT, actions: [ARM_STREAM, SEND] };
const START_ALL_TIMED: Transition = { state: FIRST_ATTEMPT, actions: [ARM_RESPONSE, ARM_STREAM, SEND] };
/** The body ended during the first attempt (the common case of a request with a body). */
const SENT_FIRST_ATTEMPT: Transition = { state: FIRST_ATTEMPT, actions: [ARM_RESPONSE] };
const TO_RELAY: Transition = { state: RELAYING, actions: [RELAY] };
const RELAYED: Transition = { state: DONE, actions: [{ type: "record", ending: "relayed" }] };
const NO_ENDPOINT: Transition = { state: DONE, actions: [{ type: "respond-error", status: 503, code: "no-endpoint" }] };
const CONNECT_FAILED: Transition = { state: DONE, actions: [{ type: "respond-error", status: 502, code: "connect-failure" }] };
const RESET: Transition = { state: DONE, actions: [{ type: "respond-error", status: 502, code: "upstream-reset" }] };
const ATTEMPT_TIMED_OUT: Transition = { state: DONE, actions: [{ type: "respond-error", status: 504, code: "attempt-timeout" }] };
const ATTEMPT_TIMEOUT_OUTCOME: AttemptOutcome = { kind: "attempt-timeout" };
/** An attempt (or a relay) in flight: it is given up first. */
const TIMED_OUT: Transition = { state: DONE, actions: [CANCEL_TIMEOUT, RESPOND_TIMEOUT] };
const CLIENT_GONE: Transition = { state: DONE, actions: [CANCEL_CLIENT_GONE, RECORD_CLIENT_GONE] };
const IDLE_TIMED_OUT: Transition = { state: DONE, actions: [CANCEL_TIMEOUT, RESPOND_IDLE_TIMEOUT] };
const TOTAL_TIMED_OUT: Transition = { state: DONE, actions: [CANCEL_TIMEOUT, RESPOND_TOTAL_TIMEOUT] };
/** Between attempts nothing is in flight. */
const TIMED_OUT_IDLE: Transition = { state: DONE, actions: [RESPOND_TIMEOUT] };
const CLIENT_GONE_IDLE: Transition = { state: DONE, actions: [RECORD_CLIENT_GONE] };
const IDLE_TIMED_OUT_IDLE: Transition = { state: DONE, actions: [RESPOND_IDLE_TIMEOUT] };
const TOTAL_TIMED_OUT_IDLE: Transition = { state: DONE, actions: [RESPOND_TOTAL_TIMEOUT] };
const STAY_DONE: Transition = { state: DONE, actions: NONE };

export function transition(state: LifecycleState, event: LifecycleEvent, ctx: LifecycleContext): Transition {
  switch (state.phase) {
    case "idle":
      if (event.type === "start") return start(event.sent && ctx.responseTimeoutMs > 0, ctx.idleTimeoutMs > 0 || ctx.totalTimeoutMs > 0);
      return stay(state);
    case "attempting":
      switch (event.type) {
        case "response-head":
          return isRetryableOutcome(ctx, event, ctx.retry) ? retryOrGiveUp(state.attempt, event, ctx) : TO_RELAY;
        case "attempt-failed":
          return retryOrGiveUp(state.attempt, event, ctx);
        case "attempt-timeout": {
          // The attempt is given up first (its endpoint blamed); then it is one more failed attempt.
          const next = retryOrGiveUp(state.attempt, ATTEMPT_TIMEOUT_OUTCOME, ctx);
          return { state: next.state, actions: [CANCEL_TIMEOUT, ...next.actions] };
        }
        case "attempt-refused":
          return { state: DONE, actions: [{ type: "respond-error", status: event.status, code: event.code }] };
        case "no-endpoint":
          return NO_ENDPOINT;
        case "request-sent":
          return requestSent(state, ctx);
        case "timeout":
          return TIMED_OUT;
        case "idle-timeout":
          return IDLE_TIMED_OUT;
        case "total-timeout":
          return TOTAL_TIMED_OUT;
        case "client-gone":
          return CLIENT_GONE;
        default:
          return stay(state);
      }
    case "awaiting-budget":
      switch (event.type) {
        case "budget":
          if (!event.granted) return giveUp(state.outcome);
          return {
            state: { phase: "backing-off", attempt: state.attempt },
            actions: [{ type: "discard-attempt" }, { type: "count-retry", reason: retryReason(state.outcome) }, { type: "schedule-backoff", ms: state.backoffMs }],
          };
        // The budget answers at once; these cannot arrive in between, but they would find the attempt still open.
        case "request-sent":
          return requestSent(state, ctx);
        case "timeout":
          return TIMED_OUT;
        case "idle-timeout":
          return IDLE_TIMED_OUT;
        case "total-timeout":
          return TOTAL_TIMED_OUT;
        case "client-gone":
          return CLIENT_GONE;
        default:
          return stay(state);
      }
    case "backing-off":
      switch (event.type) {
        case "backoff-elapsed":
          return { state: { phase: "attempting", attempt: state.attempt + 1 }, actions: [SEND] };
        case "request-sent":
          return requestSent(state, ctx);
        case "timeout":
          return TIMED_OUT_IDLE;
        case "idle-timeout":
          return IDLE_TIMED_OUT_IDLE;
        case "total-timeout":
          return TOTAL_TIMED_OUT_IDLE;
        case "client-gone":
          return CLIENT_GONE_IDLE;
        default:
          return stay(state);
      }
    case "relaying":
      switch (event.type) {
        case "relay-ended":
          return RELAYED;
        // The response head came: the response timeout is met, and only silence or the total timeout ends a body.
        case "idle-timeout":
          return IDLE_TIMED_OUT;
        case "total-timeout":
          return TOTAL_TIMED_OUT;
        case "client-gone":
          return CLIENT_GONE;
        default:
          return stay(state);
      }
    case "done":
      return STAY_DONE;
  }
}

function start(response: boolean, stream: boolean): Transition {
  if (response) return stream ? START_ALL_TIMED : START_RESPONSE_TIMED;
  return stream ? START_STREAM_TIMED : START;
}

/** The body ended before a response head: the response timeout starts, if the policy sets one. */
function requestSent(state: LifecycleState, ctx: LifecycleContext): Transition {
  if (ctx.responseTimeoutMs <= 0) return stay(state);
  return state === FIRST_ATTEMPT ? SENT_FIRST_ATTEMPT : { state, actions: [ARM_RESPONSE] };
}

/** A failed attempt: retried if the policy allows (the budget is asked next), else the request ends with it. */
function retryOrGiveUp(attempt: number, outcome: AttemptOutcome, ctx: LifecycleContext): Transition {
  const decision = shouldRetry(ctx, outcome, attempt, ctx.retry, ctx.rng);
  if (!decision.retry) return giveUp(outcome);
  return { state: { phase: "awaiting-budget", attempt, outcome, backoffMs: decision.backoffMs }, actions: [{ type: "withdraw-budget" }] };
}

/** No retry: a response is relayed as it is (the caller sees the upstream's 503), a failure becomes a 502. */
function giveUp(outcome: AttemptOutcome): Transition {
  switch (outcome.kind) {
    case "response":
      return TO_RELAY;
    case "connect-failure":
      return CONNECT_FAILED;
    case "reset":
      return RESET;
    case "attempt-timeout":
      return ATTEMPT_TIMED_OUT;
  }
}

/** The retries metric's reason label: the status that caused it, or how the attempt failed. */
export function retryReason(outcome: AttemptOutcome): string {
  return outcome.kind === "response" ? String(outcome.grpcStatus ?? outcome.status) : outcome.kind;
}

/** An event the phase does not expect (a late report from an attempt already given up): nothing changes. */
function stay(state: LifecycleState): Transition {
  return { state, actions: NONE };
}
