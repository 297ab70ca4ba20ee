// Port lists as operators write them in annotations and configuration:
// "25,3306,8000-8010". Parsed to validate and to merge; written back in the same
// comma form, which is what weft-proxy-init's --exclude-*-ports flags and the
// proxy's WEFT_OPAQUE_PORTS read.
import { fail, ok, type Result } from "../../lib/result.ts";

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
