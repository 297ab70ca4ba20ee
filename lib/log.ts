// Structured JSON logging shared by every Weft process. One root logger per
// process; modules take a child with their own `component` so lines can be
// filtered without parsing messages.
import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger };

export interface LogOptions {
  level?: LevelWithSilent;
  component: string;
}

export function createLogger(options: LogOptions): Logger {
  return pino({
    level: options.level ?? "info",
    base: { component: options.component },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** A logger that drops everything: for unit tests and for libraries used without a host logger. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
