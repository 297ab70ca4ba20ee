// Which destinations were seen to speak first. A client of a server-speaks-
// first protocol (SMTP, MySQL, a banner) sends nothing until the server's
// greeting, so protocol detection on an undeclared port waits out its whole
// window on every connection. Once a destination's client has stayed silent
// for a window, later connections to it skip the wait.
//
// An entry expires a fixed time after it was learned, however often it is
// used: while it holds, the listener no longer waits to see what the client
// sends, so a destination that changed protocol (a new deployment behind the
// same Service port) is only re-learned once the entry is gone. A connection
// that turns out to carry HTTP forgets it at once. The memory is an LRU of
// bounded size, so a workload dialling many destinations cannot grow it
// without limit. Pure: time comes from the clock passed in.
import type { Clock } from "../../../lib/clock.ts";

export const SERVER_FIRST_TTL_MS = 10 * 60_000;
export const SERVER_FIRST_MAX_ENTRIES = 10_000;

export interface ServerFirstMemoryOptions {
  clock: Pick<Clock, "now">;
  /** How long a destination stays remembered after it was learned (default 10 min). */
  ttlMs?: number;
  /** Most destinations remembered; the least recently used goes first (default 10,000). */
  maxEntries?: number;
}

export class ServerFirstMemory {
  readonly #clock: Pick<Clock, "now">;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  /** Destination key -> when it was learned; Map order is least recently used first. */
  readonly #learnedAt = new Map<string, number>();

  constructor(options: ServerFirstMemoryOptions) {
    this.#clock = options.clock;
    this.#ttlMs = options.ttlMs ?? SERVER_FIRST_TTL_MS;
    this.#maxEntries = Math.max(1, options.maxEntries ?? SERVER_FIRST_MAX_ENTRIES);
  }

  /** Whether `key` is remembered as server-first (and not expired); a hit makes it the most recently used. */
  remembers(key: string): boolean {
    const learnedAt = this.#learnedAt.get(key);
    if (learnedAt === undefined) return false;
    this.#learnedAt.delete(key);
    if (this.#clock.now() - learnedAt >= this.#ttlMs) return false;
    this.#learnedAt.set(key, learnedAt);
    return true;
  }

  /** Records that `key`'s client sent nothing within the detection window. True when it was not already remembered. */
  learn(key: string): boolean {
    const fresh = !this.remembers(key);
    this.#learnedAt.delete(key);
    this.#learnedAt.set(key, this.#clock.now());
    for (const oldest of this.#learnedAt.keys()) {
      if (this.#learnedAt.size <= this.#maxEntries) break;
      this.#learnedAt.delete(oldest);
    }
    return fresh;
  }

  /** A connection to `key` carried HTTP: detect again from the next one. */
  forget(key: string): void {
    this.#learnedAt.delete(key);
  }

  get size(): number {
    return this.#learnedAt.size;
  }
}
