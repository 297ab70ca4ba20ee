// A token bucket on the injected clock: `rate` tokens a second, at most one
// second's worth saved up. Tap events are taken from it, so a busy proxy sends
// at most `rate` events a second per tap and drops the rest.
import type { Clock } from "../../../lib/clock.ts";

export class TokenBucket {
  readonly #clock: Clock;
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(clock: Clock, ratePerSecond: number) {
    this.#clock = clock;
    this.#rate = ratePerSecond;
    this.#burst = Math.max(1, ratePerSecond);
    this.#tokens = this.#burst;
    this.#at = clock.now();
  }

  #refill(): void {
    const now = this.#clock.now();
    if (now > this.#at) {
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) * this.#rate) / 1000);
      this.#at = now;
    }
  }

  /** Whether a token is there to take, without taking it. */
  available(): boolean {
    this.#refill();
    return this.#tokens >= 1;
  }

  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
