// Coalesces bursts of model changes into one push: a flush happens once the
// changes have been quiet for `quietMs`, and never later than `maxDelayMs`
// after the first change of the burst, so a rolling restart of 500 pods is a
// handful of pushes and a steady trickle of changes cannot starve proxies.
import { systemClock, type Clock } from "../../lib/clock.ts";

export interface DebouncerOptions {
  quietMs: number;
  maxDelayMs: number;
  clock?: Clock;
}

export class Debouncer {
  readonly #quietMs: number;
  readonly #maxDelayMs: number;
  readonly #clock: Clock;
  readonly #flush: () => void;
  #firstAt: number | null = null;
  #timer: unknown = null;

  constructor(options: DebouncerOptions, flush: () => void) {
    this.#quietMs = options.quietMs;
    this.#maxDelayMs = Math.max(options.maxDelayMs, options.quietMs);
    this.#clock = options.clock ?? systemClock;
    this.#flush = flush;
  }

  /** Records a change; the flush runs after the quiet window or the maximum delay, whichever is first. */
  poke(): void {
    const now = this.#clock.now();
    if (this.#firstAt === null) this.#firstAt = now;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    const deadline = this.#firstAt + this.#maxDelayMs;
    const wait = Math.max(0, Math.min(this.#quietMs, deadline - now));
    this.#timer = this.#clock.setTimeout(() => this.#fire(), wait);
  }

  /** Flushes now if a change is pending (used on shutdown and in tests). */
  flushNow(): void {
    if (this.#firstAt !== null) this.#fire();
  }

  cancel(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#firstAt = null;
  }

  #fire(): void {
    this.cancel();
    this.#flush();
  }
}
