// Per-endpoint outlier ejection. One transition function: an endpoint that
// fails `failureThreshold` times in a row is ejected for a backoff that doubles
// with each consecutive ejection; when the backoff ends it is probed (it takes
// traffic again) and one success closes the breaker, one failure ejects again.
// Never ejecting every endpoint is the balancer's rule (it ignores ejection
// when nothing else is left), because only it sees the whole set.

export type BreakerState =
  | { kind: "closed"; consecutiveFailures: number; ejections: number }
  | { kind: "ejected"; until: number; ejections: number }
  | { kind: "probing"; ejections: number };

export type BreakerEvent = { type: "success" } | { type: "failure" } | { type: "tick" };

export interface BreakerConfig {
  failureThreshold: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
}

export const DEFAULT_BREAKER: BreakerConfig = { failureThreshold: 5, baseEjectionMs: 5_000, maxEjectionMs: 60_000 };

export const INITIAL_BREAKER: BreakerState = { kind: "closed", consecutiveFailures: 0, ejections: 0 };

export function ejectionMs(ejections: number, config: BreakerConfig): number {
  return Math.min(config.maxEjectionMs, config.baseEjectionMs * 2 ** Math.max(0, ejections - 1));
}

function eject(ejections: number, now: number, config: BreakerConfig): BreakerState {
  const next = ejections + 1;
  return { kind: "ejected", until: now + ejectionMs(next, config), ejections: next };
}

export function transition(state: BreakerState, event: BreakerEvent, now: number, config: BreakerConfig = DEFAULT_BREAKER): BreakerState {
  switch (state.kind) {
    case "closed":
      if (event.type === "success") return state.consecutiveFailures === 0 ? state : { ...state, consecutiveFailures: 0 };
      if (event.type === "failure") {
        const failures = state.consecutiveFailures + 1;
        return failures >= config.failureThreshold ? eject(state.ejections, now, config) : { ...state, consecutiveFailures: failures };
      }
      return state;
    case "ejected":
      // Late results of requests sent before the ejection do not change it.
      if (now >= state.until) return transition({ kind: "probing", ejections: state.ejections }, event, now, config);
      return state;
    case "probing":
      if (event.type === "success") return { kind: "closed", consecutiveFailures: 0, ejections: 0 };
      if (event.type === "failure") return eject(state.ejections, now, config);
      return state;
  }
}

/** Whether the endpoint should be avoided now (a tick first moves an expired ejection to probing). */
export function isEjected(state: BreakerState, now: number): boolean {
  return state.kind === "ejected" && now < state.until;
}
