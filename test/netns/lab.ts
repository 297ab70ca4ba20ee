// A lab of network namespaces for tests that need real iptables and real
// routing: namespaces with unique names, veth links with 10.250.x.x addresses
// that exist only inside them, processes run inside (optionally as another
// UID), and cleanup that runs even when a test fails or the run is interrupted.
import { spawnSync } from "node:child_process";
import { basename } from "node:path";
import { startProcess, type TestProcess } from "../support/process.ts";

export const NODE = process.execPath;
const PREFIX = `weft-t-${process.pid}-`;

let counter = 0;
const liveLabs = new Set<NetnsLab>();

function sh(command: string, args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { encoding: "utf8", input, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? "", stderr: (r.error ? `${r.error.message}\n` : "") + (r.stderr ?? "") };
}

export function mustRun(command: string, args: string[], input?: string): string {
  const r = sh(command, args, input);
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Why netns tests cannot run here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "network-namespace tests need root (ip netns, iptables)";
  for (const tool of ["ip", "iptables-restore", "iptables-save", "setpriv"]) {
    if (sh("sh", ["-c", `command -v ${tool}`]).status !== 0) return `${tool} is not installed (npm test's prepare step installs it)`;
  }
  return null;
}

/** Deletes namespaces left by earlier runs whose process is gone (a killed test run). */
/**
 * For a mocha `before` hook: skips the suite, saying why, where network
 * namespaces cannot be made (not root, no `ip`), and otherwise, with
 * `sweep`, removes what a killed run left behind.
 */
export function skipWithoutNetns(ctx: Mocha.Context, options: { sweep: boolean } = { sweep: true }): void {
  const why = netnsUnavailable();
  if (why) {
    console.warn(`  skipped: ${why}`);
    ctx.skip();
  }
  if (options.sweep) sweepStaleNamespaces();
}

export function sweepStaleNamespaces(): void {
  const list = sh("ip", ["netns", "list"]).stdout;
  for (const line of list.split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const m = /^weft-t-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid;
    if (!alive) {
      try { process.kill(pid, 0); alive = true; } catch { alive = false; }
    }
    if (!alive) sh("ip", ["netns", "del", name]);
  }
}

export interface Link {
  /** Namespace A's interface and address (no prefix length). */
  aIf: string;
  aAddr: string;
  bIf: string;
  bAddr: string;
  /** IPv6 (unique local, fd00:250::/64, a /126 per link). */
  aAddr6: string;
  bAddr6: string;
}

export interface RunOptions {
  /** Run as this UID (and GID), e.g. the proxy's, through setpriv. */
  uid?: number;
  env?: Record<string, string>;
  cwd?: string;
}

/** A process inside a namespace: its own process group, so stopping it reaches setpriv's child too. */
export type LabProcess = TestProcess;

export class NetnsLab {
  readonly namespaces: string[] = [];
  readonly children = new Set<LabProcess>();
  private links = 0;

  constructor() {
    liveLabs.add(this);
  }

  /** A fresh namespace with loopback up. */
  namespace(label: string): string {
    const name = `${PREFIX}${counter++}-${label}`.slice(0, 60);
    mustRun("ip", ["netns", "add", name]);
    this.namespaces.push(name);
    mustRun("ip", ["-n", name, "link", "set", "lo", "up"]);
    return name;
  }

  /** A veth pair between two namespaces on its own /30 inside 10.250.0.0/16 and /126 inside fd00:250::/64. */
  link(a: string, b: string): Link {
    const n = this.links++;
    const tag = `${process.pid % 100000}x${counter++}`;
    const aIf = `wa${tag}`.slice(0, 15);
    const bIf = `wb${tag}`.slice(0, 15);
    const base = n * 4;
    const aAddr = `10.250.${Math.floor(base / 256)}.${(base % 256) + 1}`;
    const bAddr = `10.250.${Math.floor(base / 256)}.${(base % 256) + 2}`;
    mustRun("ip", ["link", "add", aIf, "netns", a, "type", "veth", "peer", "name", bIf, "netns", b]);
    mustRun("ip", ["-n", a, "addr", "add", `${aAddr}/30`, "dev", aIf]);
    mustRun("ip", ["-n", b, "addr", "add", `${bAddr}/30`, "dev", bIf]);
    const aAddr6 = `fd00:250::${(base + 1).toString(16)}`;
    const bAddr6 = `fd00:250::${(base + 2).toString(16)}`;
    // nodad: usable at once, without waiting for duplicate address detection.
    mustRun("ip", ["-n", a, "-6", "addr", "add", `${aAddr6}/126`, "dev", aIf, "nodad"]);
    mustRun("ip", ["-n", b, "-6", "addr", "add", `${bAddr6}/126`, "dev", bIf, "nodad"]);
    mustRun("ip", ["-n", a, "link", "set", aIf, "up"]);
    mustRun("ip", ["-n", b, "link", "set", bIf, "up"]);
    return { aIf, aAddr, bIf, bAddr, aAddr6, bAddr6 };
  }

  /** The argv that runs `command` inside `ns`, as `options.uid` when given. */
  argv(ns: string, command: string, args: string[], options: RunOptions = {}): string[] {
    const user = options.uid === undefined ? [] : ["setpriv", "--reuid", String(options.uid), "--regid", String(options.uid), "--clear-groups"];
    return ["netns", "exec", ns, ...user, command, ...args];
  }

  /** Runs to completion inside the namespace; throws with stderr on failure. */
  exec(ns: string, command: string, args: string[], options: RunOptions = {}): string {
    return mustRun("ip", this.argv(ns, command, args, options));
  }

  /** Like exec but returns the status instead of throwing. */
  tryExec(ns: string, command: string, args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
    return sh("ip", this.argv(ns, command, args), input);
  }

  /** A long-running process inside the namespace, killed at cleanup. Output is kept for diagnostics. */
  spawn(ns: string, command: string, args: string[], options: RunOptions = {}): LabProcess {
    const p = startProcess(`${basename(command)} in ${ns}`, "ip", this.argv(ns, command, args, options), { env: options.env, cwd: options.cwd, group: true });
    this.children.add(p);
    return p;
  }

  /** Stops every process (SIGKILL after 3 s) and deletes every namespace (their veths and iptables go with them). */
  async cleanup(): Promise<void> {
    await Promise.all([...this.children].map((p) => p.stop(3000)));
    this.cleanupSync();
  }

  cleanupSync(): void {
    // Also what is left of a group whose leader is gone.
    for (const p of this.children) p.kill();
    this.children.clear();
    for (const ns of this.namespaces.splice(0)) sh("ip", ["netns", "del", ns]);
    liveLabs.delete(this);
  }
}

// An interrupted or crashing run still removes its namespaces.
function cleanupAll(): void {
  for (const lab of liveLabs) lab.cleanupSync();
}
process.once("exit", cleanupAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    cleanupAll();
    process.exit(130);
  });
}
