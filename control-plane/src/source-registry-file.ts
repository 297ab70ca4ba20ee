// Local mode's source: the registry file, read at start and re-read whenever it
// changes. A file that does not parse is refused with its line-numbered reason
// and the last good model stays published, so a typo never empties the mesh.
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { DefaultPolicy } from "../../lib/authz/default-policy.ts";
import { silentLogger, type Logger } from "../../lib/log.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import type { MeshModel } from "./mesh-state.ts";
import { parseRegistryFile } from "./source-registry-file-parse.ts";

export interface RegistryFileSourceOptions {
  path: string;
  onModel: (model: MeshModel) => void;
  /** Called with each refusal (also logged), e.g. to surface it in `weft check`. */
  onError?: (message: string) => void;
  trustDomain?: string;
  /** The control plane's --default-inbound-policy (the file's defaultInboundPolicy wins). */
  defaultPolicy?: DefaultPolicy;
  logger?: Logger;
  /** Delay after a change event before re-reading, so an editor's several writes are read once. */
  settleMs?: number;
  /** Re-read at least this often even without events (some filesystems miss them); 0 disables. */
  pollMs?: number;
}

export interface RegistryFileSource {
  /** The last model that parsed, or null if none has yet. */
  current(): MeshModel | null;
  /** Re-reads the file now. */
  reload(): Promise<Result<MeshModel>>;
  stop(): void;
}

export async function readRegistryFile(path: string, trustDomain?: string, defaultPolicy?: DefaultPolicy): Promise<Result<MeshModel>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    return fail("registry-unreadable", `${path}: ${(err as Error).message}`);
  }
  return parseRegistryFile(text, path, trustDomain, defaultPolicy);
}

export async function startRegistryFileSource(options: RegistryFileSourceOptions): Promise<RegistryFileSource> {
  const logger = (options.logger ?? silentLogger()).child({ component: "registry-file" });
  let current: MeshModel | null = null;
  let lastText: string | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const reload = async (): Promise<Result<MeshModel>> => {
    let text: string;
    try {
      text = await readFile(options.path, "utf8");
    } catch (err) {
      const message = `${options.path}: ${(err as Error).message}`;
      logger.error({ path: options.path }, `registry file unreadable, keeping the last good state: ${message}`);
      options.onError?.(message);
      return fail("registry-unreadable", message);
    }
    if (text === lastText && current) return ok(current);
    lastText = text;
    const parsed = parseRegistryFile(text, options.path, options.trustDomain, options.defaultPolicy);
    if (!parsed.ok) {
      logger.error({ path: options.path, code: parsed.code }, `registry file refused, keeping the last good state: ${parsed.message}`);
      options.onError?.(parsed.message);
      return parsed;
    }
    current = parsed.value;
    logger.info({ path: options.path, services: current.services.size }, "registry file loaded");
    if (!stopped) options.onModel(current);
    return ok(current);
  };

  const schedule = () => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void reload();
    }, options.settleMs ?? 50);
  };

  await reload();
  // Watch the directory: editors and `mv` replace the file, which a watch on the file itself would lose.
  const name = basename(options.path);
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dirname(options.path), (_event, file) => {
      if (file === null || file === name) schedule();
    });
    watcher.on("error", (err) => logger.warn({ err }, "registry file watch failed; relying on polling"));
  } catch (err) {
    logger.warn({ err }, "cannot watch the registry file's folder; relying on polling");
  }
  const poll = (options.pollMs ?? 2000) > 0 ? setInterval(schedule, options.pollMs ?? 2000) : null;
  poll?.unref();

  return {
    current: () => current,
    reload,
    stop() {
      stopped = true;
      watcher?.close();
      if (poll) clearInterval(poll);
      if (timer) clearTimeout(timer);
    },
  };
}
