// The clock seam: what time it is and how to wait. Time-dependent modules
// (debouncing, renewal, deadlines, retries) take a Clock instead of calling
// the globals, so their tests run on fake timers (test/support/fake-clock.ts
// adapts @sinonjs/fake-timers to this interface) and never sleep.
export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Milliseconds on a monotonic scale; only differences are meaningful. */
  now(): number;
}

/**
 * The process's own timers. Timers are unref'd: a pending debounce or renewal
 * never keeps a process alive that has otherwise finished its work.
 */
export const systemClock: Clock = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  now: () => performance.now(),
};
