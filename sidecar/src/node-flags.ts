// The proxy's V8 heap settings, applied by the proxy itself so that every way
// of starting it (image entrypoint, injected container, tests, benchmarks)
// runs with them. A small young generation keeps RSS near what the process
// loads at start: with V8's default 16 MB semi-spaces a proxy at 1,000 rps
// grows to 160-280 MB; with 2 MB it stays near 100 MB at a similar CPU cost
// per request (docs/decisions.md, "Proxy: transport and heap"). The garbage
// collector runs on the proxy's own thread: V8's parallel scavenge and
// concurrent marking hand work to helper threads that, in a pod held to one
// CPU or less, wait for the core the proxy's thread holds, and a pause lasts
// until they get it. In two same-run A/Bs on one core the pair's p99.9 was
// 0.35x and 0.71x the default's at the same CPU (docs/decisions.md, "The
// garbage collector runs on the proxy's own thread").
// `--no-single-threaded-gc` in NODE_OPTIONS turns it back.
// The re-exec itself is shared with the control plane (lib/node-flags.ts).
import { missingNodeFlags as missingFlags, reexecWithNodeFlags, type NodeFlagsSpec } from "../../lib/node-flags.ts";

/** Node flags the proxy runs with unless the operator already set that flag. */
export const PROXY_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=2", "--max-old-space-size=64", "--single-threaded-gc"];

/** Set to "0" to run with whatever flags the process was started with. */
export const REEXEC_ENV = "WEFT_PROXY_NODE_FLAGS_REEXEC";

const PROXY_SPEC: NodeFlagsSpec = { flags: PROXY_NODE_FLAGS, reexecEnv: REEXEC_ENV };

/** The flags from PROXY_NODE_FLAGS that neither the command line nor NODE_OPTIONS sets; empty when nothing to add. */
export function missingNodeFlags(execArgv: readonly string[], nodeOptions: string | undefined, env: Record<string, string | undefined>): string[] {
  return missingFlags(PROXY_SPEC, execArgv, nodeOptions, env);
}

/**
 * Replaces this process (same pid, same fds) with one that has the proxy's
 * flags, when some are missing. Called before the proxy loads anything else.
 */
export function reexecWithProxyFlags(): void {
  reexecWithNodeFlags(PROXY_SPEC);
}
