// Local mode in network namespaces: the I/O shell around local-netns-plan.ts.
//
// Why a hub: a workload namespace can only reach what is on its own links, and
// Weft must not add addresses or routes to the machine's (root) namespace. So
// the control plane runs inside a hub namespace, on a bridge that every
// workload namespace joins with a veth pair; `weft local --mode netns` creates
// the hub and records it in its runtime file, `weft run` adds one workload
// namespace to that hub, and `weft demo` builds a hub and three workloads of
// its own. In each workload namespace the product's init step writes the
// capture rules, the sidecar runs as the proxy UID (exempt from capture) and
// the app runs unmodified, dialling ClusterIPs. The CLI itself stays in the
// root namespace and reaches a sidecar's admin port or an app through a unix
// socket served by local-netns-relay.ts inside the namespace (a path on disk is
// reachable from every namespace). Deleting a namespace removes its veths and
// iptables rules with it; processes still inside are stopped first.
import { chmodSync, chownSync, copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_PROXY_UID } from "../../lib/proxy-contract.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { hubCommands, hubPlan, inNamespace, namespaceName, ownedNamespaces, staleNamespaces, workloadCommands, workloadNetPlan, WORKLOAD_IF, type HubPlan, type WorkloadNetPlan } from "./local-netns-plan.ts";
import { isAlive, projectModule } from "./local-processes.ts";

export const PROXY_UID = DEFAULT_PROXY_UID;

interface Ran { status: number | null; stdout: string; stderr: string }

function sh(argv: string[]): Ran {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd!, args, { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? "", stderr: (r.error ? `${r.error.message}\n` : "") + (r.stderr ?? "") };
}

function shAsync(argv: string[]): Promise<Ran> {
  const [cmd, ...args] = argv;
  return new Promise((resolve) => {
    const p = spawn(cmd!, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.once("error", (err) => resolve({ status: 127, stdout, stderr: err.message }));
    p.once("close", (status) => resolve({ status, stdout, stderr }));
  });
}

function runAll(commands: string[][]): Result<void> {
  for (const argv of commands) {
    const r = sh(argv);
    if (r.status !== 0) return fail("netns-setup-failed", `${argv.join(" ")}: ${r.stderr.trim().split("\n").at(-1) ?? `exit ${r.status}`}`);
  }
  return ok(undefined);
}

/**
 * Why network-namespace mode cannot run here, or ok. Creates and deletes a
 * probe namespace and reads its nat table, so "works" means it really does.
 */
export function probeNetns(): Result<void> {
  if (process.getuid?.() !== 0) return fail("not-root", "not running as root, so no network namespaces or iptables");
  for (const tool of ["ip", "iptables-save", "iptables-restore", "setpriv", "sysctl"]) {
    if (sh(["sh", "-c", `command -v ${tool}`]).status !== 0) return fail("missing-tool", `${tool} is not installed`);
  }
  const probe = namespaceName(process.pid, "probe");
  const added = sh(["ip", "netns", "add", probe]);
  if (added.status !== 0) return fail("netns-unavailable", `\`ip netns add\` failed: ${added.stderr.trim().split("\n").at(-1) ?? ""}`);
  try {
    const nat = sh(["ip", "netns", "exec", probe, "iptables-save", "-t", "nat"]);
    if (nat.status !== 0) return fail("iptables-unavailable", `iptables does not work in a namespace: ${nat.stderr.trim().split("\n").at(-1) ?? ""}`);
  } finally {
    sh(["ip", "netns", "del", probe]);
  }
  // The sidecar runs as the proxy UID and loads this project's code: a clone
  // under a private home directory (e.g. /root) is out of its reach.
  const code = projectModule("sidecar/src/main");
  const readable = sh(["setpriv", "--reuid", String(PROXY_UID), "--regid", String(PROXY_UID), "--clear-groups", "sh", "-c", 'test -r "$1" && test -x "$2"', "sh", code, process.execPath]);
  if (readable.status !== 0) return fail("unreadable-code", `the proxy's UID ${PROXY_UID} cannot read ${code} or run ${process.execPath} (a clone in a private home directory?)`);
  return ok(undefined);
}

/** Removes namespaces (and the processes in them) and sidecar files left by runs that were killed. Returns the namespaces' names. */
export async function sweepStale(): Promise<string[]> {
  const stale = staleNamespaces(sh(["ip", "netns", "list"]).stdout, isAlive);
  for (const ns of stale) await removeNamespace(ns);
  for (const name of readdirSync(tmpdir())) {
    const m = /^weft-(\d+)-[A-Za-z0-9]{6}$/.exec(name);
    if (m && !isAlive(Number(m[1]))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  return stale;
}

async function removeNamespace(ns: string): Promise<void> {
  const pids = (): number[] => sh(["ip", "netns", "pids", ns]).stdout.split(/\s+/).filter(Boolean).map(Number).filter((p) => p > 1 && p !== process.pid);
  const signal = (sig: NodeJS.Signals): void => {
    for (const p of pids()) {
      try {
        process.kill(p, sig);
      } catch {
        // already gone
      }
    }
  };
  if (pids().length > 0) {
    signal("SIGTERM");
    const deadline = Date.now() + 3_000;
    while (pids().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    signal("SIGKILL");
  }
  sh(["ip", "netns", "del", ns]);
}

/** Workload addresses in use by live owners' namespaces (so a second `weft run` picks another). */
export function addressesInUse(): string[] {
  const out: string[] = [];
  for (const n of ownedNamespaces(sh(["ip", "netns", "list"]).stdout)) {
    if (n.name.endsWith("-hub")) continue;
    const m = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(sh(["ip", "-n", n.name, "-4", "addr", "show", "dev", WORKLOAD_IF]).stdout);
    if (m) out.push(m[1]!);
  }
  return out;
}

export function namespaceExists(ns: string): boolean {
  return sh(["ip", "netns", "list"]).stdout.split("\n").some((l) => l.split(" ")[0] === ns);
}

/**
 * The namespaces one command owns. Everything it created is removed by
 * destroy(), and also on process exit (an uncaught error), synchronously.
 */
export class LocalNetns {
  readonly owner = process.pid;
  readonly created: string[] = [];
  readonly workloads: WorkloadNetPlan[] = [];
  readonly #onExit = (): void => this.destroySync();

  constructor() {
    process.once("exit", this.#onExit);
  }

  createHub(): Result<HubPlan> {
    const hub = hubPlan(this.owner);
    this.created.push(hub.ns);
    const r = runAll(hubCommands(hub));
    return r.ok ? ok(hub) : r;
  }

  /** A workload namespace joined to `hub`, with the capture rules written by the product's init step. */
  async addWorkload(hub: HubPlan, label: string, address: string): Promise<Result<WorkloadNetPlan>> {
    const w = workloadNetPlan(this.owner, label, address, this.workloads.length);
    this.workloads.push(w);
    this.created.push(w.ns);
    const r = runAll(workloadCommands(hub, w));
    if (!r.ok) return r;
    const init = await shAsync(inNamespace(w.ns, process.execPath, [projectModule("sidecar/src/init-main"), "--proxy-uid", String(PROXY_UID)]));
    if (init.status !== 0) return fail("capture-failed", `capture rules in ${w.ns}: ${init.stderr.trim().split("\n").at(-1) ?? `exit ${init.status}`}`);
    return ok(w);
  }

  async destroy(): Promise<void> {
    process.off("exit", this.#onExit);
    // Workloads first: their veths leave the hub's bridge as they go.
    for (const ns of this.created.splice(0).reverse()) await removeNamespace(ns);
  }

  destroySync(): void {
    for (const ns of this.created.splice(0).reverse()) {
      for (const p of sh(["ip", "netns", "pids", ns]).stdout.split(/\s+/).filter(Boolean).map(Number)) {
        try {
          if (p > 1 && p !== process.pid) process.kill(p, "SIGKILL");
        } catch {
          // already gone
        }
      }
      sh(["ip", "netns", "del", ns]);
    }
  }
}

/**
 * Files the sidecar (running as the proxy UID) must read: the trust anchors and
 * its token, in a directory of their own, since the state directory may be
 * private to the user. Also holds the relays' unix sockets.
 */
export class SidecarFiles {
  readonly dir = mkdtempSync(join(tmpdir(), `weft-${process.pid}-`));

  constructor() {
    chmodSync(this.dir, 0o755);
  }

  anchors(from: string): string {
    const path = join(this.dir, "ca.crt");
    copyFileSync(from, path);
    chmodSync(path, 0o644);
    return path;
  }

  token(name: string, token: string): string {
    const path = join(this.dir, `${name}.token`);
    writeFileSync(path, token, { mode: 0o600 });
    chownSync(path, PROXY_UID, PROXY_UID);
    return path;
  }

  socket(name: string): string {
    return join(this.dir, `${name}.sock`);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
