// One outbound request's lifecycle as a pure transition function: every
// phase against every event, the actions each produces, and the ordering rule
// the shell relies on (an action that may report back comes last).
import { strict as assert } from "node:assert";
import { DEFAULT_POLICY, type EffectiveRetry } from "../../sidecar/src/discovery/client-policy.ts";
import {
  IDLE,
  transition,
  type LifecycleAction,
  type LifecycleContext,
  type LifecycleEvent,
  type LifecycleState,
} from "../../sidecar/src/outbound/request-lifecycle.ts";

const RETRY: EffectiveRetry = DEFAULT_POLICY.retry;

function lifecycle(overrides: Partial<LifecycleContext> = {}): LifecycleContext {
  return { method: "GET", grpc: false, replayable: true, retry: RETRY, responseTimeoutMs: 0, idleTimeoutMs: 0, totalTimeoutMs: 0, rng: () => 0.5, ...overrides };
}

const head = (status: number, grpcStatus?: number): LifecycleEvent => ({ type: "response-head", kind: "response", status, grpcStatus });
const connectFailure: LifecycleEvent = { type: "attempt-failed", kind: "connect-failure" };
const reset: LifecycleEvent = { type: "attempt-failed", kind: "reset" };

const PHASES: Record<LifecycleState["phase"], LifecycleState> = {
  idle: IDLE,
  attempting: { phase: "attempting", attempt: 1 },
  "awaiting-budget": { phase: "awaiting-budget", attempt: 1, outcome: { kind: "response", status: 503 }, backoffMs: 12 },
  "backing-off": { phase: "backing-off", attempt: 1 },
  relaying: { phase: "relaying" },
  done: { phase: "done" },
};

const EVENTS: Record<LifecycleEvent["type"], LifecycleEvent> = {
  start: { type: "start", sent: true },
  "request-sent": { type: "request-sent" },
  "no-endpoint": { type: "no-endpoint" },
  "response-head": head(200),
  "attempt-failed": reset,
  "attempt-refused": { type: "attempt-refused", status: 502, code: "body-not-replayable" },
  budget: { type: "budget", granted: true },
  "backoff-elapsed": { type: "backoff-elapsed" },
  timeout: { type: "timeout" },
  "attempt-timeout": { type: "attempt-timeout" },
  "idle-timeout": { type: "idle-timeout" },
  "total-timeout": { type: "total-timeout" },
  "client-gone": { type: "client-gone" },
  "relay-ended": { type: "relay-ended" },
};

/** The (phase, event) pairs that move the request; every other pair is stale and changes nothing. */
const EXPECTED: Partial<Record<LifecycleState["phase"], Partial<Record<LifecycleEvent["type"], [LifecycleState, LifecycleAction[]]>>>> = {
  idle: { start: [{ phase: "attempting", attempt: 1 }, [{ type: "send" }]] },
  attempting: {
    "no-endpoint": [{ phase: "done" }, [{ type: "respond-error", status: 503, code: "no-endpoint" }]],
    "response-head": [{ phase: "relaying" }, [{ type: "relay" }]],
    "attempt-failed": [{ phase: "awaiting-budget", attempt: 1, outcome: reset, backoffMs: 12 }, [{ type: "withdraw-budget" }]],
    "attempt-refused": [{ phase: "done" }, [{ type: "respond-error", status: 502, code: "body-not-replayable" }]],
    timeout: [{ phase: "done" }, [{ type: "cancel-attempt", reason: "timeout" }, { type: "respond-error", status: 504, code: "timeout" }]],
    // A route's per-attempt timeout: the attempt is given up, then retried like any failed attempt.
    "attempt-timeout": [{ phase: "awaiting-budget", attempt: 1, outcome: { kind: "attempt-timeout" }, backoffMs: 12 }, [{ type: "cancel-attempt", reason: "timeout" }, { type: "withdraw-budget" }]],
    "idle-timeout": [{ phase: "done" }, [{ type: "cancel-attempt", reason: "timeout" }, { type: "respond-error", status: 504, code: "idle-timeout" }]],
    "total-timeout": [{ phase: "done" }, [{ type: "cancel-attempt", reason: "timeout" }, { type: "respond-error", status: 504, code: "total-timeout" }]],
    "client-gone": [{ phase: "done" }, [{ type: "cancel-attempt", reason: "client-gone" }, { type: "record", ending: "client-gone" }]],
  },
  "awaiting-budget": {
    budget: [{ phase: "backing-off", attempt: 1 }, [{ type: "discard-attempt" }, { type: "count-retry", reason: "503" }, { type: "schedule-backoff", ms: 12 }]],
    timeout: [{ phase: "done" }, [{ type: "cancel-attempt", reason: "timeout" }, { type: "respond-error", status: 504, code: "timeout" }]],
    "idle-timeout": [{ phase: "done" }, [{ type: "cancel-attempt", reason: "timeout" }, { type: "respond-error", status: 504, code: "idle-timeout" }]],
    "total-timeout": [{ phase: "done" }, [{ type: "cancel-attempt", reason: "timeout" }, { type: "respond-error", status: 504, code: "total-timeout" }]],
    "client-gone": [{ phase: "done" }, [{ type: "cancel-attempt", reason: "client-gone" }, { type: "record", ending: "client-gone" }]],
  },
  "backing-off": {
    "backoff-elapsed": [{ phase: "attempting", attempt: 2 }, [{ type: "send" }]],
    timeout: [{ phase: "done" }, [{ type: "respond-error", status: 504, code: "timeout" }]],
    "idle-timeout": [{ phase: "done" }, [{ type: "respond-error", status: 504, code: "idle-timeout" }]],
    "total-timeout": [{ phase: "done" }, [{ type: "respond-error", status: 504, code: "total-timeout" }]],
    "client-gone": [{ phase: "done" }, [{ type: "record", ending: "client-gone" }]],
  },
  relaying: {
    "relay-ended": [{ phase: "done" }, [{ type: "record", ending: "relayed" }]],
    // The response timeout ends with the response head: a long body is not cut by it.
    "idle-timeout": [{ phase: "done" }, [{ type: "cancel-attempt", reason: "timeout" }, { type: "respond-error", status: 504, code: "idle-timeout" }]],
    "total-timeout": [{ phase: "done" }, [{ type: "cancel-attempt", reason: "timeout" }, { type: "respond-error", status: 504, code: "total-timeout" }]],
    "client-gone": [{ phase: "done" }, [{ type: "cancel-attempt", reason: "client-gone" }, { type: "record", ending: "client-gone" }]],
  },
};

/** Actions after which the shell may already be handling the next event. */
const MAY_REPORT_BACK = new Set(["send", "withdraw-budget", "relay"]);
const TERMINAL = new Set(["respond-error", "record"]);

describe("outbound request lifecycle: the transition function", () => {
  for (const [phase, state] of Object.entries(PHASES)) {
    for (const [type, event] of Object.entries(EVENTS)) {
      const expected = EXPECTED[phase as LifecycleState["phase"]]?.[type as LifecycleEvent["type"]];
      it(`${phase} + ${type}: ${expected ? `${expected[0].phase}, ${expected[1].map((a) => a.type).join(", ")}` : "stale, nothing changes"}`, () => {
        const t = transition(state, event, lifecycle());
        if (expected) {
          assert.deepEqual(t.state, expected[0]);
          assert.deepEqual(t.actions, expected[1]);
        } else {
          assert.deepEqual(t.state, state);
          assert.deepEqual(t.actions, []);
        }
      });
    }
  }

  it("every transition keeps the shell's rules: an action that may report back comes last, and the request ends with exactly one terminal action", () => {
    const contexts = [lifecycle(), lifecycle({ responseTimeoutMs: 100, idleTimeoutMs: 100, totalTimeoutMs: 100 }), lifecycle({ method: "POST" }), lifecycle({ grpc: true }), lifecycle({ replayable: false })];
    const events = [...Object.values(EVENTS), head(503), head(200, 14), connectFailure, { type: "budget", granted: false } as const];
    const states = [...Object.values(PHASES), { phase: "awaiting-budget", attempt: 2, outcome: { kind: "reset" }, backoffMs: 0 } as const, { phase: "attempting", attempt: 3 } as const];
    for (const ctx of contexts) {
      for (const state of states) {
        for (const event of events) {
          const { state: next, actions } = transition(state, event, ctx);
          const where = `${state.phase} + ${event.type}`;
          actions.forEach((a, i) => assert.ok(!MAY_REPORT_BACK.has(a.type) || i === actions.length - 1, `${where}: ${a.type} is not last`));
          const terminal = actions.filter((a) => TERMINAL.has(a.type)).length;
          assert.equal(terminal, next.phase === "done" && state.phase !== "done" ? 1 : 0, `${where}: terminal actions`);
        }
      }
    }
  });

  it("arms the response timeout at the start of a request without a body, before sending", () => {
    assert.deepEqual(transition(IDLE, EVENTS.start, lifecycle({ responseTimeoutMs: 1000 })).actions, [{ type: "arm-timeout" }, { type: "send" }]);
  });

  it("starts the response timeout of a request with a body only when the body has been sent", () => {
    const ctx = lifecycle({ responseTimeoutMs: 1000 });
    const started = transition(IDLE, { type: "start", sent: false }, ctx);
    assert.deepEqual(started.actions, [{ type: "send" }]);
    assert.deepEqual(transition(started.state, EVENTS["request-sent"], ctx).actions, [{ type: "arm-timeout" }]);
    assert.deepEqual(transition({ phase: "backing-off", attempt: 1 }, EVENTS["request-sent"], ctx), { state: { phase: "backing-off", attempt: 1 }, actions: [{ type: "arm-timeout" }] });
    assert.deepEqual(transition(PHASES.relaying, EVENTS["request-sent"], ctx).actions, [], "a response already on its way has met the timeout");
  });

  it("arms the idle and total timeouts from the start, whether or not the request has a body", () => {
    for (const sent of [true, false]) {
      assert.deepEqual(transition(IDLE, { type: "start", sent }, lifecycle({ idleTimeoutMs: 1000 })).actions, [{ type: "arm-stream-timeouts" }, { type: "send" }]);
      assert.deepEqual(transition(IDLE, { type: "start", sent }, lifecycle({ totalTimeoutMs: 1000 })).actions, [{ type: "arm-stream-timeouts" }, { type: "send" }]);
    }
    assert.deepEqual(transition(IDLE, EVENTS.start, lifecycle({ responseTimeoutMs: 1, idleTimeoutMs: 1 })).actions, [{ type: "arm-timeout" }, { type: "arm-stream-timeouts" }, { type: "send" }]);
  });

  it("allocates no transition for a request whose timeouts all arm at its first attempt", () => {
    const ctx = lifecycle({ responseTimeoutMs: 1, idleTimeoutMs: 1 });
    assert.equal(transition(IDLE, EVENTS.start, ctx), transition(IDLE, EVENTS.start, ctx));
    const first = transition(IDLE, { type: "start", sent: false }, ctx).state;
    assert.equal(transition(first, EVENTS["request-sent"], ctx), transition(first, EVENTS["request-sent"], ctx));
  });

  it("retries a retryable status while attempts remain, then relays the last response as it is", () => {
    const second = transition({ phase: "attempting", attempt: 2 }, head(503), lifecycle());
    assert.equal(second.state.phase, "awaiting-budget");
    assert.deepEqual(transition({ phase: "attempting", attempt: 3 }, head(503), lifecycle()), { state: { phase: "relaying" }, actions: [{ type: "relay" }] });
  });

  it("relays a retryable response when the budget refuses the retry, and fails a connection failure with 502", () => {
    const refused: LifecycleEvent = { type: "budget", granted: false };
    assert.deepEqual(transition(PHASES["awaiting-budget"], refused, lifecycle()), { state: { phase: "relaying" }, actions: [{ type: "relay" }] });
    const failed: LifecycleState = { phase: "awaiting-budget", attempt: 1, outcome: { kind: "connect-failure" }, backoffMs: 0 };
    assert.deepEqual(transition(failed, refused, lifecycle()).actions, [{ type: "respond-error", status: 502, code: "connect-failure" }]);
  });

  it("never retries a POST that reached the app, but does retry one that never left", () => {
    const post = lifecycle({ method: "POST" });
    assert.deepEqual(transition(PHASES.attempting, head(503), post).actions, [{ type: "relay" }]);
    assert.deepEqual(transition(PHASES.attempting, reset, post).actions, [{ type: "respond-error", status: 502, code: "upstream-reset" }]);
    assert.deepEqual(transition(PHASES.attempting, connectFailure, post).actions, [{ type: "withdraw-budget" }]);
  });

  it("retries gRPC on its status (UNAVAILABLE), not on the HTTP status, and counts the gRPC code as the reason", () => {
    const grpc = lifecycle({ grpc: true });
    assert.deepEqual(transition(PHASES.attempting, head(200, 0), grpc).actions, [{ type: "relay" }]);
    const unavailable = transition(PHASES.attempting, head(200, 14), grpc);
    assert.equal(unavailable.state.phase, "awaiting-budget");
    const granted = transition(unavailable.state, EVENTS.budget, grpc);
    assert.deepEqual(granted.actions[1], { type: "count-retry", reason: "14" });
  });

  it("gives up at once when the body outgrew the retry buffer or retries are off", () => {
    assert.deepEqual(transition(PHASES.attempting, head(503), lifecycle({ replayable: false })).actions, [{ type: "relay" }]);
    assert.deepEqual(transition(PHASES.attempting, connectFailure, lifecycle({ retry: { ...RETRY, enabled: false } })).actions, [{ type: "respond-error", status: 502, code: "connect-failure" }]);
  });

  it("waits a jittered, growing backoff between attempts", () => {
    const at = (attempt: number, rng: number) => {
      const t = transition({ phase: "attempting", attempt }, reset, lifecycle({ rng: () => rng }));
      return t.state.phase === "awaiting-budget" ? t.state.backoffMs : -1;
    };
    assert.equal(at(1, 0), 0);
    assert.equal(at(1, 0.99), 24);
    assert.equal(at(2, 0.99), 49);
  });
});
