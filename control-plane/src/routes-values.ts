// Values inside a Gateway API route that the apiserver's schema lets through
// but Weft must still check: regular expressions and durations. Pure.
import { fail, ok, type Result } from "../../lib/result.ts";

/**
 * A regular expression both engines agree on. The proxy matches with JS RegExp; the Gateway API
 * conformance suite (and most implementations) read patterns as RE2, which has no backreferences
 * and no lookaround. A pattern using them would match differently here than anywhere else, so it
 * is refused rather than silently given JS meaning.
 */
export function checkRegex(pattern: string): Result<string, "UnsupportedValue"> {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      const next = pattern[i + 1] ?? "";
      if (!inClass && /[1-9]/.test(next)) return fail("UnsupportedValue", `regex ${JSON.stringify(pattern)}: backreferences are not supported (RE2 semantics)`);
      if (!inClass && next === "k" && pattern[i + 2] === "<") return fail("UnsupportedValue", `regex ${JSON.stringify(pattern)}: named backreferences are not supported (RE2 semantics)`);
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") {
      inClass = true;
      // A "]" right after "[" or "[^" is a literal, not the end of the class.
      if (pattern[i + 1] === "^") i++;
      if (pattern[i + 1] === "]") i++;
      continue;
    }
    if (c === "(" && pattern[i + 1] === "?") {
      const rest = pattern.slice(i + 2, i + 4);
      if (rest.startsWith("=") || rest.startsWith("!") || rest === "<=" || rest === "<!") {
        return fail("UnsupportedValue", `regex ${JSON.stringify(pattern)}: lookaround is not supported (RE2 semantics)`);
      }
    }
  }
  try {
    new RegExp(pattern);
  } catch (err) {
    return fail("UnsupportedValue", `regex ${JSON.stringify(pattern)} does not compile: ${(err as Error).message}`);
  }
  return ok(pattern);
}

const DURATION = /^(?:[0-9]{1,5}(?:h|ms|m|s)){1,4}$/;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const MAX_MS = 0xffff_ffff;

/** A Gateway API Duration ("10s", "1h30m", "500ms", "0s") in milliseconds (GEP-2257). */
export function parseGatewayDuration(text: string): Result<number, "UnsupportedValue"> {
  if (!DURATION.test(text)) return fail("UnsupportedValue", `duration ${JSON.stringify(text)} is not a Gateway API duration (like 10s, 1h30m, 500ms)`);
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/([0-9]+)(h|ms|m|s)/g)) ms += Number(n) * (UNIT_MS[unit ?? ""] ?? 0);
  if (ms > MAX_MS) return fail("UnsupportedValue", `duration ${JSON.stringify(text)} is too long`);
  return ok(ms);
}
