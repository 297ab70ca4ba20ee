// The I/O shell around capture/rules.ts: reads the current nat table with
// iptables-save, feeds the computed script to iptables-restore --noflush (one
// atomic commit), and reports failures as values. By default it runs in the
// caller's own network namespace (the init container's); given `netns` (a
// path such as a CNI plugin's CNI_NETNS) it runs the same tools inside that
// namespace through nsenter, so the CNI plugin writes exactly these rules.
import { spawnSync } from "node:child_process";
import { fail, ok, type Result } from "../../../lib/result.ts";
import { applyScript, captureRules, removeScript, type CaptureOptions } from "./rules.ts";

export type CaptureFailure = "iptables-save-failed" | "iptables-restore-failed";

function tools(family: CaptureOptions["family"]): { save: string; restore: string } {
  return family === "ipv6" ? { save: "ip6tables-save", restore: "ip6tables-restore" } : { save: "iptables-save", restore: "iptables-restore" };
}

/** Where the rules go: the current network namespace, or the one at this path. */
export interface CaptureTarget {
  netns?: string;
}

function run(target: CaptureTarget, tool: string, toolArgs: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const [command, args] = target.netns === undefined ? [tool, toolArgs] : ["nsenter", [`--net=${target.netns}`, "--", tool, ...toolArgs]];
  const r = spawnSync(command, args, { input, encoding: "utf8", timeout: 30_000 });
  const spawnError = r.error ? `${r.error.message}\n` : "";
  return { status: r.status, stdout: r.stdout ?? "", stderr: spawnError + (r.stderr ?? "") };
}

export function readNatTable(family: CaptureOptions["family"], target: CaptureTarget = {}): Result<string, CaptureFailure> {
  const r = run(target, tools(family).save, ["-t", "nat"]);
  if (r.status !== 0) return fail("iptables-save-failed", r.stderr.trim() || `exit ${r.status}`);
  return ok(r.stdout);
}

function restore(family: CaptureOptions["family"], script: string, target: CaptureTarget): Result<void, CaptureFailure> {
  // -w: wait for the xtables lock (another init step or kube-proxy-like tool) rather than fail.
  const r = run(target, tools(family).restore, ["--noflush", "-w", "10"], script);
  if (r.status !== 0) return fail("iptables-restore-failed", r.stderr.trim() || `exit ${r.status}`);
  return ok(undefined);
}

/** Installs (or reinstalls, idempotently) capture; returns the script it applied. */
export function applyCapture(options: CaptureOptions, target: CaptureTarget = {}): Result<string, CaptureFailure> {
  const current = readNatTable(options.family, target);
  if (!current.ok) return current;
  const script = applyScript(options, current.value);
  const applied = restore(options.family, script, target);
  return applied.ok ? ok(script) : applied;
}

/** Removes our jumps and chains; returns the script, or null when nothing was installed. */
export function removeCapture(family: CaptureOptions["family"], target: CaptureTarget = {}): Result<string | null, CaptureFailure> {
  const current = readNatTable(family, target);
  if (!current.ok) return current;
  const script = removeScript(current.value);
  if (script === null) return ok(null);
  const removed = restore(family, script, target);
  return removed.ok ? ok(script) : removed;
}

/** What --dry-run prints: the rules for a fresh install. */
export function dryRunScript(options: CaptureOptions): string {
  return captureRules(options).join("\n") + "\n";
}
