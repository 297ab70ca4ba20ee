// Log lines for refusals, audit matches and dry-run refusals, at most
// `linesPerWindow` per policy and kind of line per window: a caller looping on
// a refused request must not turn into as many log lines (the counters in
// weft_proxy_authz_total still see every decision). What a window held back is
// counted in weft_proxy_authz_logs_suppressed_total and reported on the next
// line that policy writes.
import type { Clock } from "../../../lib/clock.ts";
import type { Logger } from "../../../lib/log.ts";

export type LoggedDecision = "deny" | "audit" | "dry-run-deny";

export interface DecisionLogOptions {
  logger: Logger;
  clock: Clock;
  linesPerWindow: number;
  windowMs: number;
  /** Counts a line held back, by the policy label it would have carried. */
  onSuppressed: (policyLabel: string) => void;
}

interface Window {
  startedAt: number;
  lines: number;
  suppressed: number;
}

/** More distinct keys than this and the windows start over: the memory held stays bounded whatever names arrive. */
const MAX_KEYS = 1024;

export class DecisionLog {
  readonly #o: DecisionLogOptions;
  readonly #windows = new Map<string, Window>();

  constructor(options: DecisionLogOptions) {
    this.#o = options;
  }

  /** `fields` go on the line as they are; `policyLabel` is the bounded name the suppressed counter uses. */
  write(decision: LoggedDecision, policy: string, policyLabel: string, fields: Record<string, unknown>): void {
    const key = `${decision}\u0000${policy}`;
    const now = this.#o.clock.now();
    let w = this.#windows.get(key);
    if (!w) {
      if (this.#windows.size >= MAX_KEYS) this.#windows.clear();
      w = { startedAt: now, lines: 0, suppressed: 0 };
      this.#windows.set(key, w);
    }
    let suppressedBefore = 0;
    if (now - w.startedAt >= this.#o.windowMs) {
      suppressedBefore = w.suppressed;
      w.startedAt = now;
      w.lines = 0;
      w.suppressed = 0;
    }
    if (w.lines >= this.#o.linesPerWindow) {
      w.suppressed++;
      this.#o.onSuppressed(policyLabel);
      return;
    }
    w.lines++;
    const line = suppressedBefore > 0 ? { ...fields, decision, policy, suppressedBefore } : { ...fields, decision, policy };
    if (decision === "audit") this.#o.logger.info(line, "authorization audit match");
    else if (decision === "dry-run-deny") this.#o.logger.info(line, "authorization dry run would refuse");
    else this.#o.logger.warn(line, "authorization refused");
  }
}
