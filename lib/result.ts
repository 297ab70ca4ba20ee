// Errors as values at the edges: parsers and validators return a Result, and
// only the I/O shell turns a failure into a status code, a response or a log line.

/** A stable, machine-readable reason (for metrics labels and CLI output) plus a human message. */
export interface Failure<Code extends string = string> {
  ok: false;
  code: Code;
  message: string;
}

export interface Success<T> {
  ok: true;
  value: T;
}

export type Result<T, Code extends string = string> = Success<T> | Failure<Code>;

export function ok<T>(value: T): Success<T> {
  return { ok: true, value };
}

export function fail<Code extends string>(code: Code, message: string): Failure<Code> {
  return { ok: false, code, message };
}
