// Shared by the network-namespace tests of local mode: running the CLI as a
// child, and checking that a run left nothing behind (namespaces, links in the
// root namespace, capture chains, processes).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = join(ROOT, "cli/src/main.ts");

export interface CliChild { name: string; proc: ChildProcess; out: string; err: string; exited: Promise<number | null> }

export function startCli(name: string, args: string[], onOut?: (c: CliChild) => void): CliChild {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const c: CliChild = { name, proc, out: "", err: "", exited: new Promise((r) => proc.once("exit", (code) => r(code))) };
  proc.stdout!.on("data", (d: Buffer) => {
    c.out += d.toString();
    onOut?.(c);
  });
  proc.stderr!.on("data", (d: Buffer) => (c.err += d.toString()));
  return c;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
export async function stopCli(c: CliChild, graceMs = 30_000): Promise<number | null> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return c.proc.exitCode;
  c.proc.kill("SIGTERM");
  const t = setTimeout(() => c.proc.kill("SIGKILL"), graceMs);
  const code = await c.exited;
  clearTimeout(t);
  return code;
}

export function sh(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

export function netnsNames(): string[] {
  return sh("ip", ["netns", "list"]).stdout.split("\n").map((l) => l.split(" ")[0] ?? "").filter(Boolean);
}

/** Names of the root namespace's links (a leaked veth or bridge would show here). */
export function rootLinks(): string[] {
  return sh("ip", ["-br", "link"]).stdout.split("\n").map((l) => l.split(/\s+/)[0] ?? "").filter(Boolean).sort();
}

/**
 * Links in the root namespace that `before` did not list. Only additions count: other
 * suites (a test cluster's pods) may remove theirs meanwhile.
 */
export function rootLinksAddedSince(before: readonly string[]): string[] {
  return rootLinks().filter((l) => !before.includes(l));
}

export function rootCaptureChains(): number {
  return sh("iptables-save", ["-t", "nat"]).stdout.split("\n").filter((l) => l.includes("WEFT_")).length;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Deletes namespaces of the given owner pids (a failed test's leftovers). */
export function removeNamespacesOf(pids: number[]): void {
  for (const ns of netnsNames()) {
    if (!pids.some((p) => ns.startsWith(`weft-${p}-`))) continue;
    for (const p of sh("ip", ["netns", "pids", ns]).stdout.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(p), "SIGKILL");
      } catch {
        // gone
      }
    }
    sh("ip", ["netns", "del", ns]);
  }
}

export async function poll<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve().then(fn).catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
