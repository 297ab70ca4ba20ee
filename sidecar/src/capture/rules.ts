// The iptables rules that capture a pod's TCP for its proxy, as a pure function
// of the options (the shape of Linkerd's proxy-init and istio-iptables): our
// own chains in the nat table, entered by one jump from PREROUTING (inbound)
// and one from OUTPUT (outbound). Applying flushes and refills our chains and
// replaces our jumps, so re-running yields the same `iptables-save`; removing
// deletes the jumps and the chains and nothing else.
import { parsePortList as parseRanges, portsOf } from "../../../lib/port-list.ts";
import { DEFAULT_PROXY_PORTS, DEFAULT_PROXY_UID } from "../../../lib/proxy-contract.ts";
import { fail, ok, type Result } from "../../../lib/result.ts";

export interface CaptureOptions {
  inboundPort: number;
  outboundPort: number;
  /** Never redirected inbound, so health checks and scrapes reach the admin server. */
  adminPort: number;
  /** The proxy's UID: its own outbound connections must not loop back into it. */
  proxyUid: number;
  /** Ports reaching the pod that bypass the proxy. */
  excludeInboundPorts: number[];
  /** Destination ports the app dials directly, bypassing the proxy. */
  excludeOutboundPorts: number[];
  family: "ipv4" | "ipv6";
}

export const CHAINS = {
  inbound: "WEFT_INBOUND",
  inboundRedirect: "WEFT_IN_REDIRECT",
  output: "WEFT_OUTPUT",
  outboundRedirect: "WEFT_OUT_REDIRECT",
} as const;

const OUR_CHAINS: readonly string[] = Object.values(CHAINS);

/** The jumps from the built-in chains into ours (as they appear in `iptables-save`). */
export const JUMPS = [
  { chain: "PREROUTING", rule: `-A PREROUTING -p tcp -m comment --comment weft -j ${CHAINS.inbound}` },
  { chain: "OUTPUT", rule: `-A OUTPUT -p tcp -m comment --comment weft -j ${CHAINS.output}` },
] as const;

export function defaultCaptureOptions(): CaptureOptions {
  return {
    inboundPort: DEFAULT_PROXY_PORTS.inbound,
    outboundPort: DEFAULT_PROXY_PORTS.outbound,
    adminPort: DEFAULT_PROXY_PORTS.admin,
    proxyUid: DEFAULT_PROXY_UID,
    excludeInboundPorts: [],
    excludeOutboundPorts: [],
    family: "ipv4",
  };
}

export function validateCaptureOptions(options: CaptureOptions): Result<CaptureOptions> {
  const ports: [string, number][] = [
    ["inbound-port", options.inboundPort],
    ["outbound-port", options.outboundPort],
    ["admin-port", options.adminPort],
    ...options.excludeInboundPorts.map((p): [string, number] => ["exclude-inbound-ports", p]),
    ...options.excludeOutboundPorts.map((p): [string, number] => ["exclude-outbound-ports", p]),
  ];
  for (const [name, port] of ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) return fail("bad-port", `${name}: ${port} is not a TCP port`);
  }
  if (!Number.isInteger(options.proxyUid) || options.proxyUid < 0) return fail("bad-uid", `proxy-uid: ${options.proxyUid} is not a UID`);
  if (options.inboundPort === options.outboundPort) return fail("bad-port", "inbound and outbound ports must differ");
  return ok(options);
}

/** "4190,8080-8090" (ports or ranges) -> the ports, ascending (lib/port-list.ts's grammar, ranges capped to keep rules small). */
export function parsePortList(text: string): Result<number[]> {
  const ranges = parseRanges(text);
  return ranges.ok ? ok(portsOf(ranges.value)) : ranges;
}

/** `-m multiport` takes at most 15 ports per rule; one rule per group keeps order stable. */
function portGroups(ports: number[]): string[] {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const groups: string[] = [];
  for (let i = 0; i < sorted.length; i += 15) groups.push(sorted.slice(i, i + 15).join(","));
  return groups;
}

/**
 * The body of our chains plus the jumps into them, as iptables-restore input
 * for the nat table (apply with `--noflush`: declaring a chain flushes it).
 */
export function captureRules(options: CaptureOptions): string[] {
  const loopback = options.family === "ipv4" ? "127.0.0.1/32" : "::1/128";
  const uid = String(options.proxyUid);
  const lines = ["*nat", ...OUR_CHAINS.map((c) => `:${c} - [0:0]`)];

  lines.push(`-A ${CHAINS.inboundRedirect} -p tcp -j REDIRECT --to-ports ${options.inboundPort}`);
  lines.push(`-A ${CHAINS.outboundRedirect} -p tcp -j REDIRECT --to-ports ${options.outboundPort}`);

  // Inbound: everything but the admin port, the proxy's own listeners and excluded ports.
  const inboundSkip = [options.adminPort, options.inboundPort, options.outboundPort, ...options.excludeInboundPorts];
  for (const group of portGroups(inboundSkip)) {
    lines.push(`-A ${CHAINS.inbound} -p tcp -m multiport --dports ${group} -j RETURN`);
  }
  lines.push(`-A ${CHAINS.inbound} -p tcp -j ${CHAINS.inboundRedirect}`);

  // Outbound. The proxy dialling its own pod's address goes over lo and never
  // passes PREROUTING; send it to the inbound listener so it is decrypted and
  // policed like any other meshed connection (Istio does the same). The proxy
  // therefore forwards inbound connections to 127.0.0.1, never the pod IP.
  for (const group of portGroups(inboundSkip)) {
    lines.push(`-A ${CHAINS.output} -o lo -p tcp -m multiport --dports ${group} -m owner --uid-owner ${uid} -j RETURN`);
  }
  lines.push(`-A ${CHAINS.output} -o lo ! -d ${loopback} -p tcp -m owner --uid-owner ${uid} -j ${CHAINS.inboundRedirect}`);
  // Everything else the proxy sends is already proxied.
  lines.push(`-A ${CHAINS.output} -m owner --uid-owner ${uid} -j RETURN`);
  // The app talking to itself (localhost or its own pod IP) never leaves the pod: no hop to protect.
  lines.push(`-A ${CHAINS.output} -o lo -j RETURN`);
  for (const group of portGroups(options.excludeOutboundPorts)) {
    lines.push(`-A ${CHAINS.output} -p tcp -m multiport --dports ${group} -j RETURN`);
  }
  lines.push(`-A ${CHAINS.output} -p tcp -j ${CHAINS.outboundRedirect}`);

  for (const jump of JUMPS) lines.push(jump.rule);
  lines.push("COMMIT");
  return lines;
}

/** Lines of the nat table in `iptables-save` output that are ours (chain declarations, our rules, jumps). */
function natSection(save: string): string[] {
  const out: string[] = [];
  let inNat = false;
  for (const line of save.split("\n")) {
    if (line.startsWith("*")) inNat = line.trim() === "*nat";
    else if (inNat) out.push(line.trim());
  }
  return out;
}

function isOurJump(line: string): boolean {
  return /^-A (PREROUTING|OUTPUT) /.test(line) && OUR_CHAINS.some((c) => line.endsWith(`-j ${c}`));
}

/** Whether both jumps into our chains are in this `iptables-save` output (a CNI CHECK asks). */
export function captureInstalled(currentSave: string): boolean {
  const nat = natSection(currentSave);
  return JUMPS.every((j) => nat.includes(j.rule));
}

/**
 * iptables-restore input (for `--noflush`) that installs capture whatever is
 * there already: jumps into our chains found in `currentSave` are deleted first
 * so they are never doubled, and our chains are flushed by being declared.
 */
export function applyScript(options: CaptureOptions, currentSave: string): string {
  const deletions = natSection(currentSave).filter(isOurJump).map((l) => l.replace(/^-A /, "-D "));
  const rules = captureRules(options);
  return [rules[0], ...deletions, ...rules.slice(1)].join("\n") + "\n";
}

/** iptables-restore input (for `--noflush`) removing our jumps and chains; null when nothing is installed. */
export function removeScript(currentSave: string): string | null {
  const nat = natSection(currentSave);
  const present = OUR_CHAINS.filter((c) => nat.includes(`:${c} - [0:0]`) || nat.some((l) => l.startsWith(`:${c} `)));
  const jumps = nat.filter(isOurJump);
  if (present.length === 0 && jumps.length === 0) return null;
  return [
    "*nat",
    ...jumps.map((l) => l.replace(/^-A /, "-D ")),
    // Chains refer to each other; flush all before deleting any.
    ...present.map((c) => `-F ${c}`),
    ...present.map((c) => `-X ${c}`),
    "COMMIT",
  ].join("\n") + "\n";
}
