// Endpoint choice: power of two choices over a latency EWMA weighted by the
// requests in flight (the "peak EWMA" of Finagle and Linkerd). Pure: endpoint
// state, the random source and the clock are passed in.
import { isEjected, type BreakerState } from "./circuit-breaker.ts";

export interface BalancerEndpoint {
  key: string;
  zone: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export interface EndpointLoad {
  ewmaMs: number;
  lastUpdate: number;
  inflight: number;
  breaker: BreakerState;
}

export interface PickOptions {
  zone: string;
  /** Use only own-zone endpoints when at least this many are eligible there. */
  minZoneEndpoints: number;
  /** Endpoints already tried for this request (retries go elsewhere when possible). */
  exclude?: ReadonlySet<string>;
}

/** Cost of an endpoint nobody has measured yet: high enough not to flood it, low enough to try it. */
export const DEFAULT_RTT_MS = 5;
export const EWMA_DECAY_MS = 10_000;

export function updateEwma(load: EndpointLoad, rttMs: number, now: number, decayMs = EWMA_DECAY_MS): void {
  // Peak-sensitive: a slower sample replaces the average at once; faster ones decay into it.
  if (rttMs > load.ewmaMs || load.lastUpdate === 0) {
    load.ewmaMs = rttMs;
  } else {
    const w = Math.exp(-Math.max(0, now - load.lastUpdate) / decayMs);
    load.ewmaMs = load.ewmaMs * w + rttMs * (1 - w);
  }
  load.lastUpdate = now;
}

export function newLoad(): EndpointLoad {
  return { ewmaMs: DEFAULT_RTT_MS, lastUpdate: 0, inflight: 0, breaker: { kind: "closed", consecutiveFailures: 0, ejections: 0 } };
}

function cost(load: EndpointLoad | undefined, now: number): number {
  if (!load) return DEFAULT_RTT_MS;
  // A penalty fades without new samples, so an endpoint that was slow or failing is tried again.
  let ewma = load.ewmaMs;
  if (ewma > DEFAULT_RTT_MS && load.lastUpdate > 0) ewma = DEFAULT_RTT_MS + (ewma - DEFAULT_RTT_MS) * Math.exp(-Math.max(0, now - load.lastUpdate) / EWMA_DECAY_MS);
  return ewma * (load.inflight + 1);
}

/**
 * The candidate set, narrowing in order while something remains: ready and not
 * terminating; else serving (terminating endpoints only while nothing else serves);
 * then not ejected (never all); then not already tried; then own zone when enough.
 */
export function candidates<E extends BalancerEndpoint>(endpoints: readonly E[], loads: ReadonlyMap<string, EndpointLoad>, options: PickOptions, now: number): E[] {
  let set = endpoints.filter((e) => e.ready && !e.terminating);
  if (set.length === 0) set = endpoints.filter((e) => e.serving || e.ready);
  if (set.length === 0) return [];
  const healthy = set.filter((e) => {
    const load = loads.get(e.key);
    return !load || !isEjected(load.breaker, now);
  });
  if (healthy.length > 0) set = healthy;
  if (options.exclude && options.exclude.size > 0) {
    const fresh = set.filter((e) => !options.exclude?.has(e.key));
    if (fresh.length > 0) set = fresh;
  }
  if (options.zone) {
    const local = set.filter((e) => e.zone === options.zone);
    if (local.length >= options.minZoneEndpoints && local.length > 0) set = local;
  }
  return set;
}

/** Idle endpoints get one request per this period, so their EWMA follows what they are now. */
export const RESAMPLE_MS = EWMA_DECAY_MS;

/** Not measured, or not for RESAMPLE_MS, and nothing in flight: it gets the next request (one at a time). */
function awaitingResample(load: EndpointLoad | undefined, now: number): boolean {
  if (!load) return true;
  return load.inflight === 0 && (load.lastUpdate === 0 || now - load.lastUpdate >= RESAMPLE_MS);
}

/** An endpoint whose ejection has expired and that nobody is testing yet: it gets the next request. */
function awaitingProbe(load: EndpointLoad | undefined, now: number): boolean {
  if (!load || load.inflight > 0) return false;
  const b = load.breaker;
  return b.kind === "probing" || (b.kind === "ejected" && now >= b.until);
}

export function pick<E extends BalancerEndpoint>(endpoints: readonly E[], loads: ReadonlyMap<string, EndpointLoad>, options: PickOptions, rng: () => number, now: number): E | undefined {
  const set = candidates(endpoints, loads, options, now);
  if (set.length <= 1) return set[0];
  // Without this a recovered endpoint would stay unused: its penalized EWMA loses every comparison.
  for (const e of set) if (awaitingProbe(loads.get(e.key), now)) return e;
  // Likewise an endpoint whose last sample is old, or that was never measured:
  // at low concurrency its cost (a penalty, or the default) can lose to a fast
  // peer forever, so it would never get the request that shows it is fine now.
  for (const e of set) if (awaitingResample(loads.get(e.key), now)) return e;
  const i = Math.floor(rng() * set.length) % set.length;
  let j = Math.floor(rng() * (set.length - 1)) % (set.length - 1);
  if (j >= i) j += 1;
  const a = set[i] as E;
  const b = set[j] as E;
  return cost(loads.get(a.key), now) <= cost(loads.get(b.key), now) ? a : b;
}
