// Every duration a user writes (flags, annotations, the registry file, the
// chart's values) has one grammar, Go's time.ParseDuration as Kubernetes and
// the chart's readers know it: numbers with units, summed ("500ms", "30s",
// "1.5h", "1h30m"), plus "d" for certificate lifetimes ("365d"). "0" needs no
// unit. Go's "ns" and "us" are refused: Weft counts whole milliseconds, and a
// bare number is refused because "5000" could mean any unit.
import { fail, ok, type Result } from "./result.ts";

export type DurationCode = "bad-duration" | "duration-out-of-range";

export interface DurationLimits {
  /** Accept zero, for settings where it means "none"; otherwise the least is 1ms. */
  allowZero?: boolean;
  /** The most accepted, in milliseconds. */
  maxMs?: number;
}

/** The longest delay setTimeout keeps; Node turns a longer one into 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

// A Map, so that no name on Object.prototype reads as a unit.
const UNIT_MS = new Map([["ms", 1], ["s", 1_000], ["m", 60_000], ["h", 3_600_000], ["d", 86_400_000]]);
const NUMBER = /\d+\.?\d*|\.\d+/y;
const UNIT = /[^\d.]*/y;
const EXAMPLES = "e.g. 500ms, 30s, 1h30m, 365d";

/** Milliseconds, rounded to the nearest whole one. */
export function parseDuration(text: string, limits: DurationLimits = {}): Result<number, DurationCode> {
  const s = text.trim();
  if (s.startsWith("-")) return fail("bad-duration", `"${text}" is negative`);
  let total = 0;
  if (s !== "0") {
    if (s === "") return fail("bad-duration", `no duration given (${EXAMPLES})`);
    for (let at = 0; at < s.length; ) {
      NUMBER.lastIndex = at;
      const number = NUMBER.exec(s);
      if (number === null) return fail("bad-duration", `"${text}" is not a duration (${EXAMPLES})`);
      UNIT.lastIndex = NUMBER.lastIndex;
      const unit = UNIT.exec(s)?.[0] ?? "";
      const unitMs = UNIT_MS.get(unit);
      if (unitMs === undefined) {
        return fail("bad-duration", unit === "" ? `"${text}" needs a unit (ms, s, m, h or d)` : `"${text}" has an unknown unit "${unit}" (ms, s, m, h or d)`);
      }
      total += Number(number[0]) * unitMs;
      at = UNIT.lastIndex;
    }
  }
  const ms = Math.round(total);
  if (!Number.isSafeInteger(ms)) return fail("duration-out-of-range", `"${text}" is too long`);
  if (ms === 0 && limits.allowZero !== true) return fail("duration-out-of-range", `"${text}" must be at least 1ms`);
  if (limits.maxMs !== undefined && ms > limits.maxMs) return fail("duration-out-of-range", `"${text}" is more than the most allowed, ${limits.maxMs}ms`);
  return ok(ms);
}
