// `weft authz`'s output: tables as kubectl prints them, or the same data as
// JSON/YAML. Pure.
import { formatOutput, formatTable, type Column } from "./output-format.ts";
import type { OutputFormat } from "./kube-flags.ts";
import type { CheckRow, PolicyRow, WorkloadAuthz } from "./authz-view.ts";

const POLICY_COLUMNS: Column<PolicyRow>[] = [
  { header: "POLICY", value: (r) => r.name },
  { header: "ACTION", value: (r) => r.action },
  { header: "PORTS", value: (r) => r.ports },
  { header: "RULES", value: (r) => String(r.rules) },
  { header: "TARGET", value: (r) => r.target },
];

export function formatWorkloadAuthz(view: WorkloadAuthz, notes: readonly string[], format: OutputFormat): string {
  const { authorization, ...shown } = view;
  return formatOutput(format, { ...shown, authorization, notes }, (wide) => {
    const lines = [`POD ${view.pod}`, `DEFAULT ${view.default.policy} (${view.default.source})`, "", ""];
    const table = view.policies.length > 0 ? formatTable(POLICY_COLUMNS, view.policies, wide) : "no AuthorizationPolicy selects this pod: the default decides every request\n";
    const tail: string[] = [];
    if (view.notSelecting.length > 0) tail.push(`not selecting this pod: ${view.notSelecting.join(", ")}`);
    for (const p of view.problems) tail.push(`problem: ${p}`);
    for (const n of notes) tail.push(`note: ${n}`);
    return lines.join("\n") + table + (tail.length > 0 ? `\n${tail.join("\n")}\n` : "");
  });
}

const CHECK_COLUMNS: Column<CheckRow>[] = [
  { header: "POD", value: (r) => r.pod },
  { header: "PORT", value: (r) => String(r.port) },
  { header: "DECISION", value: (r) => (r.allowed ? (r.dryRunRefusal ? "ALLOW (dry-run would refuse)" : "ALLOW") : "DENY") },
  { header: "POLICY", value: (r) => r.policy },
  { header: "KIND", value: (r) => r.kind },
  { header: "AUDITED", value: (r) => r.audited.join(",") || "-", wide: true },
];

export function formatCheck(request: { from: string; to: string; what: string }, rows: readonly CheckRow[], notes: readonly string[], format: OutputFormat): string {
  return formatOutput(format, { request, decisions: rows, notes }, (wide) => {
    const head = `${request.from} -> ${request.to}: ${request.what}\n\n`;
    const body = rows.length > 0 ? formatTable(CHECK_COLUMNS, rows, wide) : "no pod behind the Service on that port: nothing decides\n";
    return head + body + notes.map((n) => `note: ${n}\n`).join("");
  });
}
