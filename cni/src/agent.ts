// The DaemonSet's agent on one node: installs the plugin and its kubeconfig,
// keeps weft-cni in the runtime's conflist (the primary CNI may rewrite the
// file at any time: a watch on the conf dir plus a periodic resync put it back),
// reports whether it is in the chain through a status file the readiness probe
// reads, and on stop takes itself out so the node's CNI config is as before.
import { watch, type FSWatcher, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/log.ts";
import type { Result } from "../../lib/result.ts";
import { ensureInChain, installPlugin, uninstall, writeKubeconfig, type ApiAccess, type NodePaths } from "./install.ts";

export interface AgentOptions extends NodePaths {
  source: { nodeBinary: string; appRoot: string };
  /** Read on every resync: the projected token rotates. */
  apiAccess: () => Result<ApiAccess>;
  /** Present while weft-cni is in the chain (the readiness probe checks it). */
  statusFile: string;
  resyncMs: number;
  clock: Clock;
  log: Logger;
}

export class CniAgent {
  readonly #o: AgentOptions;
  #watcher: FSWatcher | undefined;
  #timer: unknown;
  #debounce: unknown;
  #stopped = false;

  constructor(options: AgentOptions) {
    this.#o = options;
  }

  start(): void {
    installPlugin(this.#o.binDir, this.#o.source);
    this.#o.log.info({ binDir: this.#o.binDir }, "plugin installed");
    this.sync();
    mkdirSync(this.#o.confDir, { recursive: true });
    this.#watcher = watch(this.#o.confDir, () => this.#soon());
    this.#watcher.on("error", (error) => this.#o.log.warn({ err: error.message }, "conf dir watch failed; the periodic resync still runs"));
    this.#schedule();
  }

  #soon(): void {
    if (this.#stopped) return;
    this.#o.clock.clearTimeout(this.#debounce);
    this.#debounce = this.#o.clock.setTimeout(() => this.sync(), 100);
  }

  #schedule(): void {
    this.#timer = this.#o.clock.setTimeout(() => {
      this.sync();
      if (!this.#stopped) this.#schedule();
    }, this.#o.resyncMs);
  }

  /** One pass: kubeconfig fresh, entry in the chain, status file to match. Never throws. */
  sync(): boolean {
    if (this.#stopped) return false;
    try {
      const api = this.#o.apiAccess();
      if (!api.ok) throw new Error(`${api.code}: ${api.message}`);
      if (writeKubeconfig(this.#o.binDir, api.value)) this.#o.log.info({}, "kubeconfig written");
      const chain = ensureInChain(this.#o);
      if (!chain.ok) {
        this.#o.log.warn({ code: chain.code }, chain.message);
        rmSync(this.#o.statusFile, { force: true });
        return false;
      }
      if (chain.value.changed) this.#o.log.info({ conflist: chain.value.conflist }, "weft-cni chained into the conflist");
      mkdirSync(dirname(this.#o.statusFile), { recursive: true });
      writeFileSync(this.#o.statusFile, JSON.stringify({ conflist: chain.value.conflist, binDir: this.#o.binDir }) + "\n");
      return true;
    } catch (error) {
      this.#o.log.error({ err: error instanceof Error ? error.message : String(error) }, "sync failed");
      rmSync(this.#o.statusFile, { force: true });
      return false;
    }
  }

  /** Out of the chain and off the node. */
  stop(): void {
    this.#stopped = true;
    this.#watcher?.close();
    this.#o.clock.clearTimeout(this.#timer);
    this.#o.clock.clearTimeout(this.#debounce);
    rmSync(this.#o.statusFile, { force: true });
    const removed = uninstall(this.#o);
    if (removed.ok) this.#o.log.info({ conflists: removed.value }, "weft-cni removed from the node");
    else this.#o.log.error({ code: removed.code }, removed.message);
  }
}
