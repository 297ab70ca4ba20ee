// The proxy's tap source: a request observer that does nothing while nobody
// taps (onRequest returns at its first check), and while someone does, checks
// each request's head against every tap's filters and rate, times the ones a
// tap wants and hands each tap its events. A tap whose reader is slow loses
// events (its sink says it is full) rather than make the proxy buffer them.
import type { Clock } from "../../../lib/clock.ts";
import { MAX_TAPS_PER_PROXY, tapMatches, type TapEvent, type TapRequest } from "../../../lib/tap-contract.ts";
import type { ObservedAttempt, ObservedOutcome, ObservedRequest, RequestObserver, RequestScope } from "../http/request-observer.ts";
import { tapEvent, tapPath } from "./event.ts";
import { TokenBucket } from "./rate-limit.ts";

export interface TapSink {
  /** Returns false when the event was dropped (the reader is behind). */
  send(event: TapEvent): boolean;
}

interface Tap {
  request: TapRequest;
  bucket: TokenBucket;
  sink: TapSink;
  /** The `to` filter names identities: outbound, the destination is known only after the attempts. */
  toByIdentity: boolean;
  dropped: number;
}

export interface TapHubOptions {
  clock: Clock;
  /** Wall-clock ms for event timestamps (default Date.now). */
  wallNow?: () => number;
  /** This proxy's SPIFFE id, read per event (certificates rotate; the id does not, but may not be there at start). */
  ownIdentity: () => string;
  maxTaps?: number;
}

export class TapHub implements RequestObserver {
  readonly #o: TapHubOptions;
  readonly #taps = new Set<Tap>();

  constructor(options: TapHubOptions) {
    this.#o = options;
  }

  get taps(): number {
    return this.#taps.size;
  }

  /** Starts a tap; undefined when the proxy already serves its maximum. The returned function ends it. */
  subscribe(request: TapRequest, sink: TapSink): (() => void) | undefined {
    if (this.#taps.size >= (this.#o.maxTaps ?? MAX_TAPS_PER_PROXY)) return undefined;
    const to = request.to;
    const tap: Tap = { request, sink, bucket: new TokenBucket(this.#o.clock, request.maxRps), toByIdentity: to !== undefined && to.identities.length > 0, dropped: 0 };
    this.#taps.add(tap);
    return () => this.#taps.delete(tap);
  }

  onRequest(req: ObservedRequest): RequestScope | undefined {
    if (this.#taps.size === 0) return undefined;
    const own = this.#o.ownIdentity();
    const head = { method: req.method, path: tapPath(req.path), service: req.service, destination: req.direction === "inbound" ? own : "" };
    let wanted: Tap[] | undefined;
    for (const tap of this.#taps) {
      // Outbound with identities in `to`: the destination is checked at the end, when an attempt has named it.
      const deferTo = tap.toByIdentity && req.direction === "outbound";
      const r = deferTo ? { ...tap.request, to: undefined } : tap.request;
      if (tapMatches(r, head) && tap.bucket.available()) (wanted ??= []).push(tap);
    }
    if (!wanted) return undefined;
    const taps = wanted;
    const started = this.#o.clock.now();
    let upstream = "";
    return {
      onAttempt(a: ObservedAttempt): undefined {
        upstream = a.peerIdentity ?? "";
        return undefined;
      },
      onEnd: (outcome: ObservedOutcome) => {
        const ctx = { ownIdentity: own, upstreamIdentity: upstream, latencyMs: this.#o.clock.now() - started, ts: (this.#o.wallNow ?? Date.now)() };
        let event: TapEvent | undefined;
        for (const tap of taps) {
          if (!this.#taps.has(tap)) continue;
          if (tap.toByIdentity && req.direction === "outbound" && !tapMatches(tap.request, { ...head, destination: upstream })) continue;
          if (!tap.bucket.take()) continue;
          event ??= tapEvent(req, outcome, ctx, []);
          const withHeaders = tap.request.headers.length > 0 ? tapEvent(req, outcome, ctx, tap.request.headers) : event;
          if (!tap.sink.send(withHeaders)) tap.dropped++;
        }
      },
    };
  }
}
