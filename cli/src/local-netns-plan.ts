// Local mode's network-namespace topology, as data: names, addresses and the
// `ip` commands that build and remove it. Pure; local-netns.ts runs them.
//
// Shape: one hub namespace holding a bridge (the "node network") with the
// hub's address, where the control plane runs; one namespace per workload
// joined to the bridge by a veth pair, with a default route via the hub so
// any ClusterIP the app dials has a route (capture redirects it before it
// leaves; the hub forwards nothing, so nothing can reach the machine's network).
// Nothing is added to the root namespace. Every name carries the owning
// process's pid (`weft-<pid>-<label>`) so a later run can find and remove what
// a killed run left behind.

/** The workloads' subnet: exists only inside Weft's own namespaces. */
export const SUBNET_PREFIX = "10.203.0";
export const SUBNET_BITS = 24;
export const HUB_ADDRESS = `${SUBNET_PREFIX}.1`;
export const BRIDGE = "weft0";
/** Inside each workload namespace. */
export const WORKLOAD_IF = "eth0";

const NAME = /^weft-(\d+)-([a-z0-9-]+)$/;

export interface HubPlan {
  owner: number;
  ns: string;
  address: string;
}

export interface WorkloadNetPlan {
  label: string;
  ns: string;
  address: string;
  /** The veth end in the hub, enslaved to the bridge. */
  hubIf: string;
}

export function namespaceName(owner: number, label: string): string {
  const clean = label.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "w";
  return `weft-${owner}-${clean}`;
}

export function hubPlan(owner: number): HubPlan {
  return { owner, ns: namespaceName(owner, "hub"), address: HUB_ADDRESS };
}

/** `index` makes the hub-side interface unique among workloads of one owner (names are limited to 15 bytes). */
export function workloadNetPlan(owner: number, label: string, address: string, index: number): WorkloadNetPlan {
  return { label, ns: namespaceName(owner, label), address, hubIf: `w${owner}x${index}`.slice(0, 15) };
}

export function isWorkloadAddress(address: string): boolean {
  const m = new RegExp(`^${SUBNET_PREFIX.replace(/\./g, "\\.")}\\.(\\d{1,3})$`).exec(address);
  const host = m ? Number(m[1]) : 0;
  return host >= 2 && host <= 254;
}

/** The first workload address (from .2) not in `taken`; undefined when the subnet is full. */
export function freeAddress(taken: Iterable<string>, from = 100): string | undefined {
  const used = new Set(taken);
  for (let h = from; h <= 254; h++) if (!used.has(`${SUBNET_PREFIX}.${h}`)) return `${SUBNET_PREFIX}.${h}`;
  for (let h = 2; h < from; h++) if (!used.has(`${SUBNET_PREFIX}.${h}`)) return `${SUBNET_PREFIX}.${h}`;
  return undefined;
}

type Argv = string[];

export function hubCommands(h: HubPlan): Argv[] {
  return [
    ["ip", "netns", "add", h.ns],
    ["ip", "-n", h.ns, "link", "set", "lo", "up"],
    // A fresh namespace does not forward; say so explicitly, so the hub can never become a router.
    ["ip", "netns", "exec", h.ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0"],
    ["ip", "-n", h.ns, "link", "add", BRIDGE, "type", "bridge"],
    ["ip", "-n", h.ns, "addr", "add", `${h.address}/${SUBNET_BITS}`, "dev", BRIDGE],
    ["ip", "-n", h.ns, "link", "set", BRIDGE, "up"],
  ];
}

export function workloadCommands(hub: HubPlan, w: WorkloadNetPlan): Argv[] {
  return [
    ["ip", "netns", "add", w.ns],
    ["ip", "-n", w.ns, "link", "set", "lo", "up"],
    // Both ends are created directly in their namespaces: nothing appears in the root namespace.
    ["ip", "link", "add", WORKLOAD_IF, "netns", w.ns, "type", "veth", "peer", "name", w.hubIf, "netns", hub.ns],
    ["ip", "-n", hub.ns, "link", "set", w.hubIf, "master", BRIDGE],
    ["ip", "-n", hub.ns, "link", "set", w.hubIf, "up"],
    ["ip", "-n", w.ns, "addr", "add", `${w.address}/${SUBNET_BITS}`, "dev", WORKLOAD_IF],
    ["ip", "-n", w.ns, "link", "set", WORKLOAD_IF, "up"],
    ["ip", "-n", w.ns, "route", "add", "default", "via", hub.address],
  ];
}

/** The argv running `command` inside `ns`, as `uid` (and its group, no supplementary groups) when given. */
export function inNamespace(ns: string, command: string, args: string[], uid?: number): Argv {
  const user = uid === undefined ? [] : ["setpriv", "--reuid", String(uid), "--regid", String(uid), "--clear-groups"];
  return ["ip", "netns", "exec", ns, ...user, command, ...args];
}

export interface OwnedNamespace {
  name: string;
  owner: number;
}

/** Weft's local-mode namespaces in `ip netns list` output (test labs' `weft-t-` names are not ours). */
export function ownedNamespaces(list: string): OwnedNamespace[] {
  const out: OwnedNamespace[] = [];
  for (const line of list.split("\n")) {
    const name = line.trim().split(/\s+/)[0] ?? "";
    const m = NAME.exec(name);
    if (m) out.push({ name, owner: Number(m[1]) });
  }
  return out;
}

/** Namespaces whose owning process is gone: a killed run's leftovers. */
export function staleNamespaces(list: string, isAlive: (pid: number) => boolean): string[] {
  return ownedNamespaces(list).filter((n) => !isAlive(n.owner)).map((n) => n.name);
}
