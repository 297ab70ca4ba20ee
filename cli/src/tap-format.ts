// `weft tap` output, one line per request as it arrives: a table row (the
// header printed once), a wide row with identities and bytes, or the event as
// one JSON line. Pure: events in, text out.
import type { TapEvent } from "../../lib/tap-contract.ts";
import type { OutputFormat } from "./kube-flags.ts";

/** "ns/sa" from a SPIFFE id, "-" for none. */
export function shortIdentity(id: string): string {
  const m = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(id);
  return m ? `${m[1]}/${m[2]}` : id || "-";
}

function statusText(e: TapEvent): string {
  const base = e.grpc ? `${e.status} grpc=${e.grpcStatus ?? "-"}` : String(e.status);
  return e.error ? `${base} (${e.error})` : base;
}

const COLUMNS: { header: string; width: number; wide?: boolean; value: (e: TapEvent) => string }[] = [
  { header: "TIME", width: 12, value: (e) => new Date(e.ts).toISOString().slice(11, 23) },
  { header: "POD", width: 28, value: (e) => e.pod ?? "-" },
  { header: "DIR", width: 4, value: (e) => (e.direction === "inbound" ? "in" : "out") },
  { header: "FROM", width: 22, value: (e) => shortIdentity(e.source) },
  { header: "TO", width: 22, value: (e) => (e.direction === "outbound" && e.service ? e.service : shortIdentity(e.destination)) },
  { header: "METHOD", width: 7, value: (e) => e.method },
  { header: "AUTHORITY", width: 20, wide: true, value: (e) => e.authority || "-" },
  { header: "PATH", width: 28, value: (e) => e.path },
  { header: "STATUS", width: 18, value: statusText },
  { header: "LATENCY", width: 9, value: (e) => `${e.latencyMs}ms` },
  { header: "TLS", width: 4, value: (e) => (e.tls ? "yes" : "no") },
  { header: "BYTES", width: 11, wide: true, value: (e) => `${e.requestBytes ?? "-"}/${e.responseBytes ?? "-"}` },
  { header: "ROUTE", width: 16, wide: true, value: (e) => e.route ?? "-" },
  { header: "AUTHZ", width: 6, value: (e) => e.authz ?? "-" },
  { header: "HEADERS", width: 0, wide: true, value: (e) => (e.headers ? Object.entries(e.headers).map(([k, v]) => `${k}=${v}`).join(" ") || "-" : "-") },
];

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ").trimEnd() + "\n";
}

/** The header line for table and wide; nothing for JSON (every line is an event). */
export function tapHeader(format: OutputFormat): string {
  if (format === "json" || format === "yaml") return "";
  const cols = COLUMNS.filter((c) => format === "wide" || !c.wide);
  return row(cols.map((c) => c.header), cols.map((c) => c.width));
}

/** One event as its line in `format` (yaml prints JSON lines too: a stream has no document to indent). */
export function tapLine(event: TapEvent, format: OutputFormat): string {
  if (format === "json" || format === "yaml") return `${JSON.stringify(event)}\n`;
  const cols = COLUMNS.filter((c) => format === "wide" || !c.wide);
  return row(cols.map((c) => c.value(event)), cols.map((c) => c.width));
}

/** A whole recorded stream (golden tests, docs). */
export function formatTap(events: readonly TapEvent[], format: OutputFormat): string {
  return tapHeader(format) + events.map((e) => tapLine(e, format)).join("");
}
