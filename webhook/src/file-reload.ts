// Files that change under a running webhook: its configuration (a ConfigMap)
// and its serving certificate (a Secret). Kubernetes updates mounted files by
// swapping a symlink, which inotify-based watches miss; polling the stat of the
// path (which follows the link) sees every update. A change is loaded and
// validated as a whole; a bad file keeps the last good value and is logged.
import { readFileSync, unwatchFile, watchFile } from "node:fs";
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
  pollMs?: number;
  onReload?(result: "ok" | "error", value: T): void;
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
  // Several files (a certificate and its key) change one after the other:
  // wait a moment after the last change so a pair is read together.
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, 100);
    timer.unref();
  };
  const interval = options.pollMs ?? 2_000;
  for (const p of options.paths) watchFile(p, { interval, persistent: false }, changed);
  return {
    ok: true,
    value: {
      current: () => value,
      reload,
      stop: () => {
        clearTimeout(timer);
        for (const p of options.paths) unwatchFile(p, changed);
      },
    },
  };
}
