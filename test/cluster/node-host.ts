// What a test node changes on the host, and how each change is undone: a bridge, a
// cgroup root, network namespaces, mounts, iptables chains and leftover processes.
// Everything here is synchronous so that exit and signal handlers can use it.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, statSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { sleepSync } from "./processes.ts";

const CGROUP_V1 = "/sys/fs/cgroup";

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/** A free 10.x.y.0/24 for the bridge: one no interface or route on the host uses yet. */
export function pickSubnetPrefix(): string {
  const used = run("ip", ["-4", "route", "show", "table", "all"]).out + run("ip", ["-4", "-o", "addr"]).out;
  for (let i = 0; i < 200; i++) {
    const prefix = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250) + 1}`;
    if (!used.includes(`${prefix}.`)) return prefix;
  }
  throw new Error("no free 10.x.y.0/24 subnet for the test node's bridge");
}

export function createBridge(name: string, gateway: string): void {
  execFileSync("ip", ["link", "add", name, "type", "bridge"]);
  execFileSync("ip", ["addr", "add", `${gateway}/24`, "dev", name]);
  execFileSync("ip", ["link", "set", name, "up"]);
}

export function deleteBridge(name: string): void {
  // A pod whose network namespace outlives its processes (a sandbox torn down halfway,
  // a namespace still bind-mounted by CNI) keeps its veth pair; the host end is
  // enslaved to the bridge, and deleting it removes both ends.
  for (const veth of bridgePorts(name)) run("ip", ["link", "del", veth]);
  run("ip", ["link", "del", name]);
}

function bridgePorts(bridge: string): string[] {
  return run("ip", ["-o", "link", "show", "master", bridge]).out
    .split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

export function raiseInotifyLimits(): void {
  for (const [key, min] of [["max_user_instances", 1024], ["max_user_watches", 524288]] as const) {
    const path = `/proc/sys/fs/inotify/${key}`;
    try {
      if (Number(readFileSync(path, "utf8")) < min) writeFileSync(path, String(min));
    } catch {
      // not fatal: the kubelet may still start
    }
  }
}

function cgroupHierarchies(): string[] {
  if (!existsSync(CGROUP_V1)) return [];
  return readdirSync(CGROUP_V1)
    .map((d) => join(CGROUP_V1, d))
    .filter((d) => existsSync(join(d, "cgroup.procs")));
}

/** The kubelet requires its cgroup root to exist in every hierarchy. */
export function createCgroupRoot(root: string): void {
  for (const h of cgroupHierarchies()) {
    const dir = join(h, root);
    mkdirSync(dir, { recursive: true });
    if (h.endsWith("/cpuset")) {
      for (const f of ["cpuset.cpus", "cpuset.mems"]) writeFileSync(join(dir, f), readFileSync(join(h, f), "utf8").trim() || "0");
    }
  }
}

function cgroupDirs(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
    out.push(dir);
  };
  for (const h of cgroupHierarchies()) walk(join(h, root));
  return out; // deepest first
}

export function pidsInCgroupRoot(root: string): number[] {
  const pids = new Set<number>();
  for (const dir of cgroupDirs(root)) {
    try {
      for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) if (line.trim() !== "") pids.add(Number(line));
    } catch {
      // removed meanwhile
    }
  }
  return [...pids];
}

/** Processes whose command line mentions `marker` (the containerd shims name our socket). */
export function pidsMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

export function netnsInodes(pids: number[]): Set<number> {
  const inodes = new Set<number>();
  for (const pid of pids) {
    try {
      const m = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`));
      if (m) inodes.add(Number(m[1]));
    } catch {
      // exited meanwhile
    }
  }
  const own = /\[(\d+)\]/.exec(readlinkSync("/proc/self/ns/net"));
  if (own) inodes.delete(Number(own[1]));
  return inodes;
}

export function killPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 100 && pids.some(alive); i++) sleepSync(20);
}

/** Deletes the named network namespaces (under /run/netns) that are one of `inodes`. */
export function deleteNetns(inodes: Set<number>): void {
  const dir = "/run/netns";
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    try {
      if (inodes.has(statSync(join(dir, name)).ino)) run("ip", ["netns", "delete", name]);
    } catch {
      // gone
    }
  }
}

/** Unmounts everything mounted at or below `dir`, deepest first. */
export function unmountBelow(dir: string): void {
  for (let pass = 0; pass < 5; pass++) {
    const points = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[4]?.replace(/\\040/g, " "))
      .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(`${dir}/`)))
      .sort((a, b) => b.length - a.length);
    if (points.length === 0) return;
    for (const p of points) run("umount", ["-l", p]);
  }
}

export function removeCgroupRoot(root: string): void {
  for (const dir of cgroupDirs(root)) {
    for (let i = 0; i < 20; i++) {
      try {
        rmdirSync(dir);
        break;
      } catch {
        sleepSync(50);
      }
    }
  }
}

type Chains = Map<string, Set<string>>;

/** Custom chains per table, for iptables or ip6tables. */
export function iptablesChains(tool: "iptables" | "ip6tables"): Chains {
  const chains: Chains = new Map();
  for (const table of ["filter", "nat", "mangle"]) {
    const r = run(tool, ["-t", table, "-S"]);
    const names = new Set<string>();
    for (const line of r.out.split("\n")) if (line.startsWith("-N ")) names.add(line.slice(3).trim());
    chains.set(table, names);
  }
  return chains;
}

/** Removes chains (and the jumps into them) that the kubelet added since `before`. */
export function removeNewChains(tool: "iptables" | "ip6tables", before: Chains): void {
  for (const [table, names] of iptablesChains(tool)) {
    const added = [...names].filter((n) => !(before.get(table)?.has(n) ?? false) && n.startsWith("KUBE-"));
    if (added.length === 0) continue;
    for (const line of run(tool, ["-t", table, "-S"]).out.split("\n")) {
      const m = /^-A (\S+) (.*)$/.exec(line);
      if (m && added.some((c) => new RegExp(`-j ${c}(\\s|$)`).test(line))) {
        // -S output is shell-quoted (comments contain spaces), so let a shell split it.
        run("sh", ["-c", `${tool} -t ${table} -D ${m[1] ?? ""} ${m[2] ?? ""}`]);
      }
    }
    for (const c of added) run(tool, ["-t", table, "-F", c]);
    for (const c of added) run(tool, ["-t", table, "-X", c]);
  }
}

/**
 * Deletes the network namespaces the CNI plugins recorded for `network` (pods the
 * kubelet never tore down) and then the records themselves.
 */
export function removeCniCache(network: string): void {
  const dir = "/var/lib/cni/results";
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    if (!f.startsWith(`${network}-`)) continue;
    for (const sandbox of cniSandboxes(join(dir, f))) {
      if (sandbox.startsWith("/var/run/netns/") || sandbox.startsWith("/run/netns/")) run("ip", ["netns", "delete", sandbox.split("/").pop() ?? ""]);
    }
    rmSync(join(dir, f), { force: true });
  }
}

function cniSandboxes(file: string): string[] {
  try {
    const cached: unknown = JSON.parse(readFileSync(file, "utf8"));
    const interfaces = (cached as { result?: { interfaces?: { sandbox?: unknown }[] } }).result?.interfaces ?? [];
    return interfaces.map((i) => i.sandbox).filter((s): s is string => typeof s === "string" && s !== "");
  } catch {
    return []; // unreadable: the record goes anyway
  }
}
