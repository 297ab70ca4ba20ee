// Node and allocator settings a Weft process applies to itself: when some are
// missing, the process replaces itself (same pid, same fds, execve) with one
// that has them, before it loads anything else. Every way of starting it (image
// entrypoint, Helm chart, tests, benchmarks) then runs with the same settings,
// and an operator's own flag or variable always wins over ours.
import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";

export interface NodeFlagsSpec {
  /** Node/V8 flags, e.g. "--max-semi-space-size=2". */
  flags: readonly string[];
  /** Environment variables read at exec time (e.g. GLIBC_TUNABLES); set only when absent. */
  env?: Readonly<Record<string, string>>;
  /** The variable that marks the re-executed process; "0" also turns the re-exec off. */
  reexecEnv: string;
}

/** A flag's name for "is it already set": `--max_old_space_size=512` is `--max-old-space-size`, and `--no-single-threaded-gc` sets `--single-threaded-gc`. */
const flagName = (flag: string): string => (flag.split("=")[0]?.replace(/_/g, "-") ?? flag).replace(/^--no-/, "--");

/** The spec's flags that neither the command line nor NODE_OPTIONS sets; empty when turned off. */
export function missingNodeFlags(spec: NodeFlagsSpec, execArgv: readonly string[], nodeOptions: string | undefined, env: Record<string, string | undefined>): string[] {
  if (env[spec.reexecEnv] === "0") return [];
  const present = new Set([...execArgv, ...(nodeOptions ?? "").split(/\s+/)].filter(Boolean).map(flagName));
  return spec.flags.filter((f) => !present.has(flagName(f)));
}

/** The spec's environment variables not already set; empty when turned off. */
export function missingNodeEnv(spec: NodeFlagsSpec, env: Record<string, string | undefined>): Record<string, string> {
  if (env[spec.reexecEnv] === "0") return {};
  return Object.fromEntries(Object.entries(spec.env ?? {}).filter(([name]) => env[name] === undefined));
}

/** Replaces this process with one that has the spec's flags and environment, when some are missing. */
export function reexecWithNodeFlags(spec: NodeFlagsSpec): void {
  const missing = missingNodeFlags(spec, process.execArgv, process.env.NODE_OPTIONS, process.env);
  const addEnv = missingNodeEnv(spec, process.env);
  const script = process.argv[1];
  if ((missing.length === 0 && Object.keys(addEnv).length === 0) || !script || typeof process.execve !== "function") return;
  // Without /proc (a chroot, some sandboxes) Node cannot resolve its own binary and
  // execPath is a bare "node"; a failed execve aborts the process instead of throwing.
  if (!isAbsolute(process.execPath) || !existsSync(process.execPath)) return;
  try {
    process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, script, ...process.argv.slice(2)], { ...process.env, ...addEnv, [spec.reexecEnv]: "0" });
  } catch {
    // Not possible here (e.g. a worker thread): run with the defaults.
  }
}
