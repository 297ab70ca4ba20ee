// The shape every benchmark suite reports, and its table rendering.
export interface BenchReport {
  suite: string;
  /** What was measured and how, in one or two sentences (machine, load, durations). */
  description: string;
  columns: string[];
  rows: (string | number)[][];
  /** The suite's performance targets (docs/benchmarks.md), checked against the rows: name -> met? */
  targets?: Record<string, { target: string; measured: string; met: boolean }>;
  /** Lines printed after the table (e.g. the proxy suite's tail attribution and memory with many proxies). */
  notes?: string[];
  /** Raw figures for machines (JSON consumers). */
  data?: Record<string, unknown>;
}

export function formatTable(report: BenchReport): string {
  const cells = [report.columns, ...report.rows.map((r) => r.map(String))];
  const widths = report.columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => "| " + r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ") + " |";
  const out = [`# ${report.suite}`, report.description, "", line(cells[0] ?? []), "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|"];
  for (const r of cells.slice(1)) out.push(line(r));
  if (report.notes?.length) out.push("", ...report.notes);
  if (report.targets) {
    out.push("", "targets:");
    for (const [name, t] of Object.entries(report.targets)) {
      out.push(`  ${t.met ? "MET   " : "MISSED"} ${name}: target ${t.target}, measured ${t.measured}`);
    }
  }
  return out.join("\n");
}
