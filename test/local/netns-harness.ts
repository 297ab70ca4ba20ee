// Shared by the network-namespace tests of local mode: running the CLI as a
// child, and checking that a run left nothing behind (namespaces, links in the
// root namespace, capture chains, processes).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { startNode, type TestProcess } from "../support/process.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = join(ROOT, "cli/src/main.ts");

/** Stopping a netns-mode command tears down namespaces and sidecars: give SIGTERM this long before SIGKILL. */
export const STOP_GRACE_MS = 30_000;

/** Start-up in network-namespace mode (namespaces, veths, capture rules, sidecars) on a loaded machine. */
export const NETNS_STARTUP = { timeoutMs: 120_000, intervalMs: 250 };

/** `weft <args>` as a child process. */
export function startCli(name: string, args: string[], onOutput?: (c: TestProcess) => void): TestProcess {
  return startNode(name, [CLI, ...args], { onOutput });
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
