// Graceful shutdown for long-running processes: on SIGTERM or SIGINT, run the
// registered drains in reverse order of registration (last started, first
// stopped), bounded by a deadline so a stuck drain cannot keep a pod Terminating.
import type { Logger } from "./log.ts";

export type Drain = () => Promise<void> | void;

export interface ShutdownOptions {
  logger: Logger;
  deadlineMs?: number;
  exit?: (code: number) => void;
}

export class Shutdown {
  readonly #drains: { name: string; drain: Drain }[] = [];
  readonly #logger: Logger;
  readonly #deadlineMs: number;
  readonly #exit: (code: number) => void;
  #started = false;

  constructor(options: ShutdownOptions) {
    this.#logger = options.logger;
    this.#deadlineMs = options.deadlineMs ?? 25_000;
    this.#exit = options.exit ?? ((code) => process.exit(code));
  }

  add(name: string, drain: Drain): void {
    this.#drains.push({ name, drain });
  }

  listen(): void {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.once(signal, () => void this.run(signal));
    }
  }

  async run(reason: string): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#logger.info({ reason }, "draining");
    const timer = setTimeout(() => {
      this.#logger.error({ deadlineMs: this.#deadlineMs }, "drain deadline passed, exiting");
      this.#exit(1);
    }, this.#deadlineMs);
    timer.unref();
    let code = 0;
    for (const { name, drain } of [...this.#drains].reverse()) {
      try {
        await drain();
      } catch (err) {
        code = 1;
        this.#logger.error({ err, drain: name }, "drain failed");
      }
    }
    clearTimeout(timer);
    this.#logger.info("drained");
    this.#exit(code);
  }
}
