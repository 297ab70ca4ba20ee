// One outbound HTTP request to a meshed Service: the I/O shell around its
// lifecycle (request-lifecycle.ts). The transition function decides; this
// performs its actions: pick an endpoint and start an attempt (a pooled
// HTTP/1.1 connection, attempt-h1.ts, or a stream on the pooled HTTP/2
// session, attempt-h2.ts), ask the retry budget, run the timers on the
// context's clock, answer with the proxy's own errors, and record the request.
//
// All of a request's timeouts share one timer, set for the earliest thing due.
// The idle timeout is not reset per chunk: the timer samples the bytes moved
// so far (the body read from the client plus the response relayed, counters
// the paths keep anyway) every quarter of the idle timeout, and the request
// ends when a sample has not moved for the whole timeout. A stall is so cut
// between 1 and 1.25 idle timeouts after the last byte, never before; and a
// chunk costs nothing extra, whether or not an idle timeout is set.
import type { EffectiveRetry } from "../discovery/client-policy.ts";
import type { Downstream } from "../http/downstream.ts";
import { observableHeaders } from "../http/headers.ts";
import { fieldsOf } from "../http/request.ts";
import type { AttemptScope } from "../http/request-observer.ts";
import type { RelayResult } from "../http/relay-response.ts";
import { recordRequest as recordRequestMetrics, statusClass } from "../admin/metrics.ts";
import { H1Attempt } from "./attempt-h1.ts";
import { H2Attempt } from "./attempt-h2.ts";
import { pick } from "./balancer-p2c-ewma.ts";
import { sendProxyError, type Attempt, type AttemptFailedEvent, type AttemptOwner, type MeshEndpointChoice, type OutboundCall, type OutboundHttpContext, type ResponseHeadEvent } from "./call.ts";
import { ReplayBody } from "./replay-body.ts";
import { recordRequest, tryWithdraw, type RetryBudget, type RetryBudgetConfig } from "./retry-budget.ts";
import { IDLE, transition, type LifecycleAction, type LifecycleContext, type LifecycleEvent, type LifecycleState, type ProxyErrorCode } from "./request-lifecycle.ts";

const BUDGET_WINDOW_MS = 10_000;
/** Counting a request reads only the budget's window; its ratio and floor matter when a retry is withdrawn. */
const COUNT_CONFIG: RetryBudgetConfig = { ratio: 0, minPerSecond: 0, windowMs: BUDGET_WINDOW_MS };

const START_SENT: LifecycleEvent = { type: "start", sent: true };
const START_WITH_BODY: LifecycleEvent = { type: "start", sent: false };
const REQUEST_SENT: LifecycleEvent = { type: "request-sent" };
const IDLE_TIMEOUT: LifecycleEvent = { type: "idle-timeout" };
const TOTAL_TIMEOUT: LifecycleEvent = { type: "total-timeout" };
const NO_ENDPOINT: LifecycleEvent = { type: "no-endpoint" };
const TIMEOUT: LifecycleEvent = { type: "timeout" };
const ATTEMPT_TIMEOUT: LifecycleEvent = { type: "attempt-timeout" };
const CLIENT_GONE: LifecycleEvent = { type: "client-gone" };
const BACKOFF_ELAPSED: LifecycleEvent = { type: "backoff-elapsed" };
const BUDGET_GRANTED: LifecycleEvent = { type: "budget", granted: true };
const BUDGET_REFUSED: LifecycleEvent = { type: "budget", granted: false };
const RELAY_ENDED: LifecycleEvent = { type: "relay-ended" };

export function forwardOutbound(ctx: OutboundHttpContext, ds: Downstream, call: OutboundCall): void {
  new OutboundRequest(ctx, ds, call).start();
}

/**
 * One request's shell. It is also the transition's context and its attempts'
 * owner, so driving the lifecycle allocates no context objects per event.
 */
class OutboundRequest implements LifecycleContext, AttemptOwner {
  readonly ctx: OutboundHttpContext;
  readonly ds: Downstream;
  readonly call: OutboundCall;
  readonly body: ReplayBody | undefined;
  readonly method: string;
  readonly grpc: boolean;
  readonly retry: EffectiveRetry;
  readonly responseTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly totalTimeoutMs: number;
  readonly attemptTimeoutMs: number;
  readonly rng: () => number;
  readonly #started: number;
  readonly #budget: RetryBudget;
  #state: LifecycleState = IDLE;
  #attempt: Attempt | undefined;
  #endpoint: MeshEndpointChoice | undefined;
  /** Endpoints already tried, from the second attempt on. */
  #tried: Set<string> | undefined;
  #relayed: RelayResult | undefined;
  /** The one timer of the request's timeouts, and the clock time it was set for. */
  #timer: unknown;
  #timerAt = Infinity;
  /** Clock times the response and total timeouts fall due (Infinity: not armed). */
  #responseAt = Infinity;
  #totalAt = Infinity;
  /** When the current attempt's own timeout (a route's backendRequest) falls due. */
  #attemptAt = Infinity;
  /** The idle timeout's last sample of bytes moved and when it last changed (-1: not armed). */
  #progress = -1;
  #progressAt = 0;
  /** An arm action ran: the timer is set once the dispatch's actions are done. */
  #rearm = false;
  #backoff: unknown;

  constructor(ctx: OutboundHttpContext, ds: Downstream, call: OutboundCall) {
    this.ctx = ctx;
    this.ds = ds;
    this.call = call;
    this.method = ds.method;
    this.grpc = call.grpc;
    this.retry = call.policy.retry;
    this.responseTimeoutMs = call.policy.responseTimeoutMs;
    this.idleTimeoutMs = call.policy.idleTimeoutMs;
    this.totalTimeoutMs = call.policy.totalTimeoutMs;
    this.attemptTimeoutMs = call.attemptTimeoutMs;
    this.rng = ctx.rng;
    this.body = ds.hasBody ? new ReplayBody(ds.body, this.retry.maxBufferedBodyBytes) : undefined;
    this.#started = ctx.now();
    this.#budget = ctx.state.budget(call.service);
  }

  get replayable(): boolean {
    return this.body ? this.body.replayable : true;
  }

  start(): void {
    recordRequest(this.#budget, this.#started, COUNT_CONFIG);
    this.ds.onAbort(() => this.#dispatch(CLIENT_GONE));
    // The response timeout counts from the request sent in full: a slow upload is the idle timeout's business.
    if (this.body && this.responseTimeoutMs > 0) this.ds.body.once("end", () => this.#dispatch(REQUEST_SENT));
    this.#dispatch(this.body ? START_WITH_BODY : START_SENT);
  }

  reportOutcome(attempt: Attempt, outcome: ResponseHeadEvent | AttemptFailedEvent): void {
    if (attempt === this.#attempt) this.#dispatch(outcome);
  }

  reportRefused(attempt: Attempt, status: number, code: ProxyErrorCode): void {
    if (attempt === this.#attempt) this.#dispatch({ type: "attempt-refused", status, code });
  }

  reportRelayEnded(attempt: Attempt, result: RelayResult): void {
    if (attempt !== this.#attempt) return;
    this.#relayed = result;
    this.#dispatch(RELAY_ENDED);
  }

  /** The one place the state changes. Actions run in order; one may dispatch the next event (it is always last). */
  #dispatch(event: LifecycleEvent): void {
    const next = transition(this.#state, event, this);
    this.#state = next.state;
    const actions = next.actions;
    for (let i = 0; i < actions.length; i++) this.#perform(actions[i] as LifecycleAction);
    if (this.#rearm) {
      this.#rearm = false;
      if (this.#state.phase !== "done") this.#schedule();
    }
  }

  /** Sets the timer for the earliest timeout due, unless it is already set for that time or earlier. */
  #schedule(): void {
    const idleCheck = this.#progress >= 0 ? this.ctx.clock.now() + Math.max(1, Math.ceil(this.idleTimeoutMs / 4)) : Infinity;
    const at = Math.min(this.#responseAt, this.#totalAt, this.#attemptAt, idleCheck);
    if (at === Infinity || at >= this.#timerAt) return;
    const clock = this.ctx.clock;
    if (this.#timer !== undefined) clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = clock.setTimeout(() => this.#onTimer(), Math.max(0, at - clock.now()));
  }

  /** A timeout whose time the timer was set for is due, even if the timer fired a hair early by the clock. */
  #onTimer(): void {
    const due = Math.max(this.#timerAt, this.ctx.clock.now());
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#totalAt <= due) return this.#dispatch(TOTAL_TIMEOUT);
    if (this.#responseAt <= due) return this.#dispatch(TIMEOUT);
    if (this.#attemptAt <= due) {
      this.#attemptAt = Infinity;
      // A retry may follow: the other timeouts keep their timer.
      this.#dispatch(ATTEMPT_TIMEOUT);
      if (this.#state.phase !== "done") this.#schedule();
      return;
    }
    if (this.#progress >= 0) {
      const progress = this.#moved();
      if (progress !== this.#progress) {
        this.#progress = progress;
        this.#progressAt = due;
      } else if (due - this.#progressAt >= this.idleTimeoutMs) {
        return this.#dispatch(IDLE_TIMEOUT);
      }
    }
    this.#schedule();
  }

  /** Bytes moved either way so far: the body read from the client and the response relayed by the current attempt. */
  #moved(): number {
    return (this.body ? this.body.bytes : 0) + (this.#attempt ? this.#attempt.responseBytes : 0);
  }

  #perform(action: LifecycleAction): void {
    const { ctx, call } = this;
    switch (action.type) {
      case "arm-timeout":
        this.#responseAt = ctx.clock.now() + this.responseTimeoutMs;
        this.#rearm = true;
        return;
      case "arm-stream-timeouts":
        if (this.totalTimeoutMs > 0) this.#totalAt = ctx.clock.now() + this.totalTimeoutMs;
        if (this.idleTimeoutMs > 0) {
          this.#progress = this.#moved();
          this.#progressAt = ctx.clock.now();
        }
        this.#rearm = true;
        return;
      case "send":
        this.#send();
        return;
      case "withdraw-budget": {
        const granted = tryWithdraw(this.#budget, ctx.now(), budgetConfig(this.retry));
        if (!granted) ctx.metrics.retryBudgetRefusals.inc({ peer_service: call.service });
        this.#dispatch(granted ? BUDGET_GRANTED : BUDGET_REFUSED);
        return;
      }
      case "discard-attempt":
        this.body?.detach();
        this.#attempt?.discard();
        return;
      case "count-retry":
        ctx.metrics.retries.inc({ peer_service: call.service, reason: action.reason });
        return;
      case "schedule-backoff":
        this.#backoff = ctx.clock.setTimeout(() => {
          this.#backoff = undefined;
          this.#dispatch(BACKOFF_ELAPSED);
        }, action.ms);
        return;
      case "cancel-attempt":
        this.#attempt?.cancel(action.reason);
        return;
      case "relay":
        // The response timeout is met; a timer set for it finds nothing due and moves on to the others.
        this.#responseAt = Infinity;
        this.#attemptAt = Infinity;
        this.body?.commit();
        this.#attempt?.relay();
        return;
      case "respond-error":
        if (action.code === "connect-failure" || action.code === "upstream-reset") {
          ctx.logger.debug({ service: call.service, endpoint: this.#endpoint?.key, outcome: action.code }, "request failed");
        }
        this.#end(sendProxyError(this.ds, this.grpc, action.status, action.code));
        return;
      case "record":
        // A relay's end is dispatched only after reportRelayEnded stored its result.
        this.#end(action.ending === "relayed" && this.#relayed ? this.#relayed : { status: 499, error: "client-gone" });
        return;
    }
  }

  #send(): void {
    const { ctx, ds, call } = this;
    const state = this.#state;
    const number = state.phase === "attempting" ? state.attempt : 1;
    if (this.#endpoint) (this.#tried ??= new Set()).add(this.#endpoint.key);
    const endpoint = pick(call.endpoints, ctx.state.loads, { zone: ctx.zone, minZoneEndpoints: ctx.minZoneEndpoints, exclude: this.#tried }, ctx.rng, ctx.now());
    if (!endpoint) {
      this.#dispatch(NO_ENDPOINT);
      return;
    }
    this.#endpoint = endpoint;
    let fields = ds.fields;
    let checked = ds.fieldsChecked;
    let scope: AttemptScope | undefined;
    const observer = call.scope;
    if (observer?.onAttempt) {
      // The observer edits an object of the forwarded fields (it adds trace context); that object is what is sent.
      const headers = observableHeaders(ds.fields);
      scope = observer.onAttempt({ attempt: number, endpoint: endpoint.key, peerIdentity: endpoint.target.identity || undefined, headers });
      fields = fieldsOf(headers);
      checked = false;
    }
    if (this.attemptTimeoutMs > 0) {
      this.#attemptAt = ctx.clock.now() + this.attemptTimeoutMs;
      this.#rearm = true;
    }
    const startedAt = ctx.now();
    ctx.state.start(endpoint.key);
    const attempt = ctx.peerTransport === "h1" && ds.proto === "h1"
      ? new H1Attempt(this, endpoint, number, scope, fields, checked, startedAt)
      : new H2Attempt(this, endpoint, number, scope, fields, checked, startedAt);
    this.#attempt = attempt;
    attempt.start();
  }

  /** The request is over: timers stop, late reports are ignored, and it is recorded once. */
  #end(result: RelayResult): void {
    const { ctx, call } = this;
    if (this.#timer !== undefined) ctx.clock.clearTimeout(this.#timer);
    if (this.#backoff !== undefined) ctx.clock.clearTimeout(this.#backoff);
    this.#timer = this.#backoff = undefined;
    this.#timerAt = this.#attemptAt = Infinity;
    this.#attempt = undefined;
    recordRequestMetrics(ctx.metrics, "outbound", call.service, result.error && !this.ds.responded ? "error" : statusClass(result.status), result.grpcStatus, (ctx.now() - this.#started) / 1000, call.route, ctx.pool.selfIdentity, this.#endpoint?.target.identity ?? "", (this.#endpoint?.target.identity ?? "") !== "");
    call.scope?.onEnd?.(result);
  }
}

function budgetConfig(retry: EffectiveRetry): RetryBudgetConfig {
  return { ratio: retry.budgetRatio, minPerSecond: retry.budgetMinPerSecond, windowMs: BUDGET_WINDOW_MS };
}
