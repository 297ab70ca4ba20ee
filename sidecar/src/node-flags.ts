// The proxy's V8 heap settings, applied by the proxy itself so that every way
// of starting it (image entrypoint, injected container, tests, benchmarks)
// runs with them. A small young generation keeps RSS near what the process
// loads at start: with V8's default 16 MB semi-spaces a proxy at 1,000 rps
// grows to 160-280 MB; with 2 MB it stays near 100 MB at a similar CPU cost
// per request (docs/decisions.md, "Proxy: transport and heap").

import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";

/** Node flags the proxy runs with unless the operator already set that flag. */
export const PROXY_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=2", "--max-old-space-size=64"];

/** Set to "0" to run with whatever flags the process was started with. */
export const REEXEC_ENV = "WEFT_PROXY_NODE_FLAGS_REEXEC";

const flagName = (flag: string): string => flag.split("=")[0]?.replace(/_/g, "-") ?? flag;

/** The flags from PROXY_NODE_FLAGS that neither the command line nor NODE_OPTIONS sets; empty when nothing to add. */
export function missingNodeFlags(execArgv: readonly string[], nodeOptions: string | undefined, env: Record<string, string | undefined>): string[] {
  if (env[REEXEC_ENV] === "0") return [];
  const present = new Set([...execArgv, ...(nodeOptions ?? "").split(/\s+/)].filter(Boolean).map(flagName));
  return PROXY_NODE_FLAGS.filter((f) => !present.has(flagName(f)));
}

/**
 * Replaces this process (same pid, same fds) with one that has the proxy's
 * flags, when some are missing. Called before the proxy loads anything else.
 */
export function reexecWithProxyFlags(): void {
  const missing = missingNodeFlags(process.execArgv, process.env.NODE_OPTIONS, process.env);
  const script = process.argv[1];
  if (missing.length === 0 || !script || typeof process.execve !== "function") return;
  // Without /proc (a chroot, some sandboxes) Node cannot resolve its own binary and
  // execPath is a bare "node"; a failed execve aborts the process instead of throwing.
  if (!isAbsolute(process.execPath) || !existsSync(process.execPath)) return;
  try {
    process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, script, ...process.argv.slice(2)], { ...process.env, [REEXEC_ENV]: "0" });
  } catch {
    // Not possible here (e.g. a worker thread): run with the defaults.
  }
}
