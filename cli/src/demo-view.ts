// Renders the demo's live table (a TTY redraws it in place with ANSI codes)
// or one summary line per interval when stdout is not a terminal.
import type { EdgeView } from "./demo-metrics.ts";

const ms = (v: number | undefined): string => (v === undefined ? "-" : v < 10 ? v.toFixed(1) : v.toFixed(0));
const pct = (v: number | undefined): string => (v === undefined ? "-" : `${(v * 100).toFixed(1)}%`);

export interface ViewState {
  elapsedS: number;
  phase: string;
  edges: EdgeView[];
  load: { rps: number; successRate: number | undefined };
  /** Which mode the demo runs in and why, kept on screen (the intro scrolls away). */
  mode?: string;
}

export function renderTable(s: ViewState): string {
  const head = `weft demo — ${s.elapsedS.toFixed(0)}s — ${s.phase}   (figures per 1 s; Ctrl-C stops everything)`;
  const cols = ["edge", "rps", "success", "p50 ms", "p95 ms", "p99 ms", "retries", "mTLS identities"];
  const rows = s.edges.map((e) => [
    `${e.from} → ${e.to}`,
    e.rps.toFixed(1),
    pct(e.successRate),
    ms(e.p50),
    ms(e.p95),
    ms(e.p99),
    e.retries.toFixed(0),
    e.mtls ? `yes ${e.clientId} → ${e.serverId}` : "no",
  ]);
  rows.unshift(["client → frontend", s.load.rps.toFixed(1), pct(s.load.successRate), "", "", "", "", "plaintext (load generator, outside the mesh)"]);
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [head, ...(s.mode ? [s.mode] : []), "", line(cols), ...rows.map(line)].join("\n");
}

export function redraw(text: string): string {
  // Home the cursor and clear the screen below it, so the table updates in place.
  return `\x1b[H\x1b[2J${text}\n`;
}

export function summaryLine(s: ViewState): string {
  const edges = s.edges.map((e) => `${e.to}: ${e.rps.toFixed(1)} rps ok=${pct(e.successRate)} p99=${ms(e.p99)}ms retries=${e.retries} mtls=${e.mtls ? "yes" : "no"}`);
  return `[${s.elapsedS.toFixed(0)}s ${s.phase}] load ${s.load.rps.toFixed(1)} rps ok=${pct(s.load.successRate)} | ${edges.join(" | ")}`;
}
