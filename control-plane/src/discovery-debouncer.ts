// Coalesces bursts of model changes into one push: a flush happens once the
// changes have been quiet for `quietMs`, and never later than `maxDelayMs`
// after the first change of the burst, so a rolling restart of 500 pods is a
// handful of pushes and a steady trickle of changes cannot starve proxies.
import { systemClock, type Clock } from "../../lib/clock.ts";

/** Kept as the name the discovery modules use; the seam itself is lib/clock.ts. */
export type Timers = Clock;
export const realTimers: Clock = systemClock;

export interface DebouncerOptions {
  quietMs: number;
  maxDelayMs: number;
  timers?: Timers;
}

export class Debouncer {
  readonly #quietMs: number;
  readonly #maxDelayMs: number;
  readonly #timers: Timers;
  readonly #flush: () => void;
  #firstAt: number | null = null;
  #timer: unknown = null;

  constructor(options: DebouncerOptions, flush: () => void) {
    this.#quietMs = options.quietMs;
    this.#maxDelayMs = Math.max(options.maxDelayMs, options.quietMs);
    this.#timers = options.timers ?? realTimers;
    this.#flush = flush;
  }

  /** Records a change; the flush runs after the quiet window or the maximum delay, whichever is first. */
  poke(): void {
    const now = this.#timers.now();
    if (this.#firstAt === null) this.#firstAt = now;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    const deadline = this.#firstAt + this.#maxDelayMs;
    const wait = Math.max(0, Math.min(this.#quietMs, deadline - now));
    this.#timer = this.#timers.setTimeout(() => this.#fire(), wait);
  }

  /** Flushes now if a change is pending (used on shutdown and in tests). */
  flushNow(): void {
    if (this.#firstAt !== null) this.#fire();
  }

  cancel(): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    this.#firstAt = null;
  }

  #fire(): void {
    this.cancel();
    this.#flush();
  }
}
