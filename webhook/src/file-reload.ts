// Files that change under a running webhook: its configuration (a ConfigMap)
// and its serving certificate (a Secret). Kubernetes updates mounted files by
// swapping a symlink, which inotify-based watches miss; polling the stat of the
// path (which follows the link) sees every update. A change is loaded and
// validated as a whole; a bad file keeps the last good value and is logged.
// The polling runs on a Clock (lib/clock.ts), so tests drive it on fake time.
import { readFileSync, statSync } from "node:fs";
import { systemClock, type Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/log.ts";
import type { Result } from "../../lib/result.ts";

export interface Reloadable<T> {
  current(): T;
  /** Reads the files now (also called on every detected change). */
  reload(): boolean;
  stop(): void;
}

export interface ReloadOptions<T> {
  /** Name for logs and metrics ("config", "certificate"). */
  name: string;
  paths: string[];
  /** Turns the files' contents (in `paths` order) into a value, or a reason. */
  load(contents: string[]): Result<T>;
  logger: Logger;
  /** How often the files' stat is compared with the last one seen (default 2 s). */
  pollMs?: number;
  /**
   * After a change is seen, how long to let the rest of an update land before
   * reading (default 100 ms): a certificate and its key change one after the other.
   */
  settleMs?: number;
  clock?: Clock;
  onReload?(result: "ok" | "error", value: T): void;
}

/** What identifies one version of a file: a replaced file (rename, symlink swap) has a new inode. */
function fingerprint(path: string): string {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? "?"}`;
  }
}

/** Loads the files once (failing if they are bad) and keeps them fresh. */
export function watchReloadable<T>(options: ReloadOptions<T>): Result<Reloadable<T>> {
  const read = (): Result<T> => {
    let contents: string[];
    try {
      contents = options.paths.map((p) => readFileSync(p, "utf8"));
    } catch (err) {
      return { ok: false, code: "unreadable", message: (err as Error).message };
    }
    return options.load(contents);
  };
  const clock = options.clock ?? systemClock;
  // Taken before the first read: a change in between is seen as a change, never missed.
  let seen = options.paths.map(fingerprint);
  const first = read();
  if (!first.ok) return first;
  let value = first.value;
  const reload = (): boolean => {
    const next = read();
    if (!next.ok) {
      options.logger.error({ file: options.name, paths: options.paths, code: next.code, reason: next.message }, "reload refused: keeping the last good version");
      options.onReload?.("error", value);
      return false;
    }
    value = next.value;
    options.logger.info({ file: options.name, paths: options.paths }, "reloaded");
    options.onReload?.("ok", value);
    return true;
  };
  const pollMs = options.pollMs ?? 2_000;
  const settleMs = options.settleMs ?? 100;
  let settling: unknown;
  let polling: unknown;
  const poll = (): void => {
    const now = options.paths.map(fingerprint);
    if (now.some((f, i) => f !== seen[i])) {
      seen = now;
      // Several files (a certificate and its key) change one after the other:
      // wait a moment after the last change seen so a pair is read together.
      if (settling !== undefined) clock.clearTimeout(settling);
      settling = clock.setTimeout(() => {
        settling = undefined;
        reload();
      }, settleMs);
    }
    polling = clock.setTimeout(poll, pollMs);
  };
  polling = clock.setTimeout(poll, pollMs);
  return {
    ok: true,
    value: {
      current: () => value,
      reload,
      stop: () => {
        clock.clearTimeout(polling);
        if (settling !== undefined) clock.clearTimeout(settling);
        settling = undefined;
      },
    },
  };
}
