// Keeps the current issuer and anchors in memory and reloads them when their
// files change, without a restart. A Kubernetes Secret volume updates by
// writing a new timestamped directory and swapping the `..data` symlink, so the
// files' own inodes never change: the watcher watches the directories, not the
// files, and also re-reads on a timer in case an event is missed. A change that
// does not load (half-written, mismatched key, untrusted issuer) is logged and
// counted, and the last good bundle stays in use.
import { watch, type FSWatcher } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "../../lib/log.ts";
import type { Result } from "../../lib/result.ts";
import { readCaFiles, type CaBundle, type CaSource } from "./ca-files.ts";

export interface CaWatcherOptions {
  source: CaSource;
  logger: Logger;
  /** Safety re-read interval (default 30 s). */
  pollMs?: number;
  /** Quiet time after a file event before reading, so a multi-file update is read once (default 200 ms). */
  debounceMs?: number;
  onReload?: (result: "loaded" | "unchanged" | "failed", bundle: CaBundle | undefined) => void;
  load?: (source: CaSource) => Promise<Result<CaBundle>>;
}

type Listener = (bundle: CaBundle) => void;

export class CaWatcher {
  readonly #options: CaWatcherOptions;
  readonly #listeners = new Set<Listener>();
  readonly #watchers: FSWatcher[] = [];
  #current: CaBundle | undefined;
  #timer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(options: CaWatcherOptions) {
    this.#options = options;
  }

  current(): CaBundle | undefined {
    return this.#current;
  }

  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Loads once (resolving with whether that worked), then watches. Keeps retrying on the timer if the first load failed. */
  async start(): Promise<boolean> {
    await this.reload();
    const source = this.#options.source;
    const dirs = new Set([source.issuerDir, dirname(source.anchorsFile ?? `${source.issuerDir}/ca.crt`), ...(source.renewFile ? [dirname(source.renewFile)] : [])]);
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => this.#schedule());
        w.on("error", (err) => this.#options.logger.warn({ err, dir }, "watch failed; relying on the poll timer"));
        this.#watchers.push(w);
      } catch (err) {
        this.#options.logger.warn({ err, dir }, "cannot watch; relying on the poll timer");
      }
    }
    this.#timer = setInterval(() => void this.reload(), this.#options.pollMs ?? 30_000);
    this.#timer.unref();
    return this.#current !== undefined;
  }

  stop(): void {
    this.#stopped = true;
    for (const w of this.#watchers) w.close();
    clearInterval(this.#timer);
    clearTimeout(this.#debounce);
  }

  #schedule(): void {
    if (this.#stopped) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.reload(), this.#options.debounceMs ?? 200);
    this.#debounce.unref();
  }

  /** Re-reads the files now; concurrent calls collapse into one extra read. */
  async reload(): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = this.#readLoop().finally(() => (this.#reading = undefined));
    return this.#reading;
  }

  async #readLoop(): Promise<void> {
    do {
      this.#again = false;
      await this.#readOnce();
    } while (this.#again && !this.#stopped);
  }

  async #readOnce(): Promise<void> {
    const load = this.#options.load ?? ((s: CaSource) => readCaFiles(s));
    const result = await load(this.#options.source);
    if (!result.ok) {
      this.#options.logger.error({ code: result.code, reason: result.message }, "issuer files did not load; keeping the last good issuer");
      this.#options.onReload?.("failed", this.#current);
      return;
    }
    if (this.#current?.fingerprint === result.value.fingerprint) {
      this.#options.onReload?.("unchanged", this.#current);
      return;
    }
    const first = this.#current === undefined;
    this.#current = result.value;
    this.#options.logger.info(
      { issuer: result.value.issuer.subject, notAfter: result.value.issuer.notAfter.toISOString(), anchors: result.value.anchorsDer.length, renewBefore: result.value.renewBefore?.toISOString() },
      first ? "issuer loaded" : "issuer reloaded",
    );
    this.#options.onReload?.("loaded", this.#current);
    for (const listener of this.#listeners) listener(result.value);
  }
}
