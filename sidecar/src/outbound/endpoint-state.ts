// Mutable per-endpoint and per-Service state the balancer and the retry logic
// read: latency EWMA, requests in flight, breaker state, retry budgets. The
// decisions are the pure functions in outbound/balancer-p2c-ewma.ts, outbound/circuit-breaker.ts
// and outbound/retry-budget.ts; this only holds their state between requests.
import { newLoad, updateEwma, type EndpointLoad } from "./balancer-p2c-ewma.ts";
import { DEFAULT_BREAKER, transition, type BreakerConfig } from "./circuit-breaker.ts";
import { newRetryBudget, type RetryBudget } from "./retry-budget.ts";

/** Why an attempt in flight is given up: a timeout counts against the endpoint, the client leaving does not. */
export type CancelReason = "timeout" | "client-gone";

export class EndpointState {
  readonly loads = new Map<string, EndpointLoad>();
  readonly #budgets = new Map<string, RetryBudget>();
  readonly #breaker: BreakerConfig;
  readonly #onEject: (service: string, endpoint: string) => void;

  constructor(options: { breaker?: BreakerConfig; onEject?: (service: string, endpoint: string) => void } = {}) {
    this.#breaker = options.breaker ?? DEFAULT_BREAKER;
    this.#onEject = options.onEject ?? (() => {});
  }

  load(key: string): EndpointLoad {
    let load = this.loads.get(key);
    if (!load) {
      load = newLoad();
      this.loads.set(key, load);
    }
    return load;
  }

  budget(service: string): RetryBudget {
    let budget = this.#budgets.get(service);
    if (!budget) {
      budget = newRetryBudget();
      this.#budgets.set(service, budget);
    }
    return budget;
  }

  start(key: string): void {
    this.load(key).inflight += 1;
  }

  /** Records an attempt's end: latency into the EWMA, success or failure into the breaker. */
  finish(service: string, key: string, result: { ok: boolean; rttMs: number }, now: number): void {
    const load = this.load(key);
    load.inflight = Math.max(0, load.inflight - 1);
    const before = load.breaker;
    load.breaker = transition(before, { type: result.ok ? "success" : "failure" }, now, this.#breaker);
    if (load.breaker.kind === "closed" && before.kind !== "closed") {
      // Revived by a successful probe: the penalty was for the failures the ejection already
      // answered, and kept it would lose every comparison to healthy peers until resampling
      // wore it down (tens of seconds). The probe is the endpoint's one current measurement.
      load.ewmaMs = result.rttMs;
      load.lastUpdate = now;
    } else {
      // A failure is as slow as it is unhelpful: penalize it so p2c steers away even before ejection.
      updateEwma(load, result.ok ? result.rttMs : Math.max(result.rttMs, load.ewmaMs * 2, 50), now);
    }
    if (load.breaker.kind === "ejected" && before.kind !== "ejected") this.#onEject(service, key);
  }

  /**
   * An attempt given up for a reason that says nothing about the endpoint (the
   * client went away, the body could not be replayed): it is no longer in
   * flight, and neither the EWMA nor the breaker hears of it.
   */
  release(key: string): void {
    const load = this.load(key);
    load.inflight = Math.max(0, load.inflight - 1);
  }

  /** An attempt cancelled before its response head: a timeout is the endpoint's failure, the client leaving is not. */
  giveUp(service: string, key: string, reason: CancelReason, rttMs: number, now: number): void {
    if (reason === "timeout") this.finish(service, key, { ok: false, rttMs }, now);
    else this.release(key);
  }

  /** Drops state of endpoints no longer in any snapshot. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.loads.keys()) if (!keys.has(key)) this.loads.delete(key);
  }
}
