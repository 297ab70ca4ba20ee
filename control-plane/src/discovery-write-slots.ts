// The semaphore that bounds how many large messages (full snapshots, large
// deltas) are being written at once. Each stream holds its own framed copy of
// such a message until the proxy reads it, so a thousand proxies connecting
// together would otherwise hold a thousand snapshots in memory at the same time.
// Waiters are served in arrival order.

/** Gives the slot back; calling it again does nothing, so every way a write can end may call it. */
export type ReleaseSlot = () => void;

export class WriteSlots {
  readonly size: number;
  #free: number;
  readonly #waiting: ((release: ReleaseSlot) => void)[] = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`write slots: size must be a positive integer, not ${size}`);
    this.size = size;
    this.#free = size;
  }

  /** Runs `use` with a slot: at once if one is free, else when one is released. */
  acquire(use: (release: ReleaseSlot) => void): void {
    if (this.#free > 0) {
      this.#free--;
      use(this.#releaser());
    } else this.#waiting.push(use);
  }

  get inUse(): number {
    return this.size - this.#free;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  #releaser(): ReleaseSlot {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot passes straight to the next waiter, so a newcomer cannot overtake the queue.
      const next = this.#waiting.shift();
      if (next) next(this.#releaser());
      else this.#free++;
    };
  }
}
