// Port lists as operators write them in annotations, flags and environment:
// "25,3306,8000-8010". The one parser for every component: the injector merges
// and writes them back in the same comma form, weft-proxy-init reads its
// --exclude-*-ports flags with it, and the proxy its WEFT_OPAQUE_PORTS.
// Strict on purpose: "-5", "80-90-100", "1e3" and " 0x50" are refused, not
// read as something the operator did not write.
import { fail, ok, type Result } from "./result.ts";

export interface PortRange {
  from: number;
  to: number;
}

const MAX_RANGE = 1024;

function port(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

export function parsePortList(text: string): Result<PortRange[]> {
  const out: PortRange[] = [];
  for (const raw of text.split(",")) {
    const item = raw.trim();
    if (item === "") continue;
    const [a, b, extra] = item.split("-");
    const from = port(a ?? "");
    const to = b === undefined ? from : port(b);
    if (from === undefined || to === undefined || extra !== undefined || to < from) {
      return fail("bad-port-list", `"${item}" is not a port (1-65535) or a range from-to`);
    }
    // weft-proxy-init writes one rule per port and refuses wider ranges.
    if (to - from > MAX_RANGE) return fail("bad-port-list", `"${item}" spans more than ${MAX_RANGE} ports`);
    out.push({ from, to });
  }
  return ok(out);
}

/** Canonical form: sorted, duplicates and overlaps merged, "a" or "a-b" items. */
export function formatPortList(ranges: PortRange[]): string {
  const sorted = [...ranges].sort((x, y) => x.from - y.from);
  const merged: PortRange[] = [];
  for (const r of sorted) {
    const last = merged.at(-1);
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else merged.push({ ...r });
  }
  return merged.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(",");
}

export function portInList(portNumber: number, ranges: PortRange[]): boolean {
  return ranges.some((r) => portNumber >= r.from && portNumber <= r.to);
}

/** Every port the ranges name, ascending, each once. */
export function portsOf(ranges: readonly PortRange[]): number[] {
  const out = new Set<number>();
  for (const r of ranges) for (let p = r.from; p <= r.to; p++) out.add(p);
  return [...out].sort((a, b) => a - b);
}
