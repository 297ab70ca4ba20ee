// The -o formats every inspection command shares: aligned tables (kubectl's
// look: upper-case headers, two spaces between columns), wide tables with
// extra columns, and the same data as JSON or YAML. Pure: data in, text out.
import { stringify } from "yaml";
import type { OutputFormat } from "./kube-flags.ts";

export interface Column<R> {
  header: string;
  value: (row: R) => string;
  /** Shown only with -o wide. */
  wide?: boolean;
}

export function formatTable<R>(columns: readonly Column<R>[], rows: readonly R[], wide = false): string {
  const shown = columns.filter((c) => wide || !c.wide);
  const cells = [shown.map((c) => c.header), ...rows.map((r) => shown.map((c) => c.value(r)))];
  const widths = shown.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? "").length)));
  return cells.map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd()).join("\n") + "\n";
}

/** JSON and YAML print `data`; table and wide print what `table` renders from it. */
export function formatOutput(format: OutputFormat, data: unknown, table: (wide: boolean) => string): string {
  switch (format) {
    case "json":
      return JSON.stringify(data, null, 2) + "\n";
    case "yaml":
      return stringify(data, { lineWidth: 0 });
    case "wide":
      return table(true);
    case "table":
      return table(false);
  }
}

/** "3h12m", "41s", "-2m" (expired): a duration short enough for a column. */
export function shortDuration(seconds: number): string {
  const sign = seconds < 0 ? "-" : "";
  let s = Math.abs(Math.round(seconds));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${sign}${d}d${h}h`;
  if (h > 0) return `${sign}${h}h${m}m`;
  if (m > 0) return `${sign}${m}m${s}s`;
  return `${sign}${s}s`;
}

/** A share 0–1 as "97.50%", "-" for none. */
export const percentText = (v: number | null): string => (v === null ? "-" : `${(v * 100).toFixed(2)}%`);
/** Milliseconds for a column: "0.4ms", "182ms", "-" for none. */
export const msText = (v: number | null): string => (v === null ? "-" : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}ms`);
export const rpsText = (v: number): string => `${v.toFixed(v >= 100 ? 0 : 1)}rps`;
