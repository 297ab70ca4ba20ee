// Waiting for a condition instead of sleeping. A test that needs something to
// have happened (a port to answer, a file to reload, a metric to count) polls
// for the positive fact and moves on the moment it holds; on a loaded 2-core
// machine the deadline is generous, and a passing wait never spends it.
//
// Never use this to prove that something did NOT happen: "still absent after
// the deadline" passes by accident whenever the machine is slow. Prove absence
// after a positive signal that the system has processed the event instead
// (a reload counted as refused, a fake clock ticked past the interval).

export interface WaitOptions {
  /**
   * Give up after this long (default 10 s). Keep it below the test's own
   * timeout (mocha's is 20 s here), so a failure names the condition rather
   * than reporting a bare mocha timeout.
   */
  timeoutMs?: number;
  /** Pause between checks (default 50 ms). */
  intervalMs?: number;
}

/** What a check yields when it holds: anything but false, 0, "", null or undefined. */
export type Truthy<T> = Exclude<T, false | 0 | 0n | "" | null | undefined>;

/**
 * Thrown by a check to fail the wait at once, when waiting longer cannot help
 * (the process that should answer has exited). Its message joins the error.
 */
export class StopWaiting extends Error {
  override name = "StopWaiting";
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_INTERVAL_MS = 50;

/** "800 ms", "10 s", "1.5 s": for messages. */
export function formatDuration(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${Number((ms / 1_000).toFixed(1))} s`;
}

/**
 * Calls `check` until it returns (or resolves to) a truthy value, and returns
 * that value. A check that throws or rejects counts as "not yet"; if the wait
 * times out, its error names `what` ("timed out after 10 s waiting for: the
 * proxy's /ready to answer 200") and carries the last error the check threw.
 * The check runs at least once, and once more at the deadline; a check still
 * pending at the deadline fails the wait rather than hanging the test.
 */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, options: WaitOptions = {}): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  let threw = false;
  for (;;) {
    const outcome = await settleBefore(deadline, check);
    if (outcome.kind === "value" && outcome.value) return outcome.value as Truthy<T>;
    if (outcome.kind === "error") {
      if (outcome.error instanceof StopWaiting) throw new Error(`gave up waiting for: ${what}: ${outcome.error.message}`, { cause: outcome.error });
      lastError = outcome.error;
      threw = true;
    } else if (outcome.kind === "value") {
      // A later falsy answer supersedes an earlier error: report what is current.
      threw = false;
    }
    const left = deadline - performance.now();
    if (left <= 0 || outcome.kind === "pending") {
      const last = outcome.kind === "pending" ? "; the last check was still pending" : threw ? `; the check last threw: ${describeError(lastError)}` : "";
      throw new Error(`timed out after ${formatDuration(timeoutMs)} waiting for: ${what}${last}`, threw ? { cause: lastError } : undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
  }
}

type Outcome<T> = { kind: "value"; value: T } | { kind: "error"; error: unknown } | { kind: "pending" };

async function settleBefore<T>(deadline: number, check: () => T | Promise<T>): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const settled = Promise.resolve()
    .then(check)
    .then((value): Outcome<T> => ({ kind: "value", value }), (error: unknown): Outcome<T> => ({ kind: "error", error }));
  // One extra interval of grace: a check that started just before the deadline may finish.
  const late = new Promise<Outcome<T>>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "pending" }), Math.max(0, deadline - performance.now()) + DEFAULT_INTERVAL_MS);
  });
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
