// `weft proxy-status`'s pure core: what each meshed pod's proxy reports of
// itself (/metrics: the version it applied and ACKed, its certificate's expiry)
// joined with what the control plane reports of its streams (per ServiceAccount:
// the version held and the group's current one), into one row per proxy.
import type { OutputFormat } from "./kube-flags.ts";
import { formatOutput, formatTable, shortDuration, type Column } from "./output-format.ts";

export interface ProxyFact {
  namespace: string;
  pod: string;
  serviceAccount: string;
  proxyVersion: string;
  /** What the proxy's /metrics said, or why it could not be read. */
  metrics: { snapshotVersion: string | null; certExpirySeconds: number | null } | { error: string };
}

/** One weft_discovery_proxy_versions sample of a control-plane replica. */
export interface StreamFact {
  namespace: string;
  serviceAccount: string;
  acked: string;
  current: string;
  streams: number;
}

export type SyncStatus = "SYNCED" | "STALE" | "NOT CONNECTED" | "UNREACHABLE" | "UNKNOWN";

export interface ProxyStatusRow {
  namespace: string;
  pod: string;
  serviceAccount: string;
  acked: string | null;
  current: string | null;
  status: SyncStatus;
  certExpirySeconds: number | null;
  proxyVersion: string;
  error: string | null;
}

/**
 * Streams are known per ServiceAccount, not per pod: a pod's row takes the
 * current version of a stream of its ServiceAccount that holds the pod's own
 * version (the pod's stream, or a replica's at the same version), else of any
 * stream of its ServiceAccount. `streams` null: the control plane could not be read.
 */
export function proxyStatusRows(proxies: readonly ProxyFact[], streams: readonly StreamFact[] | null): ProxyStatusRow[] {
  const rows = proxies.map((p): ProxyStatusRow => {
    const base = { namespace: p.namespace, pod: p.pod, serviceAccount: p.serviceAccount, proxyVersion: p.proxyVersion };
    if ("error" in p.metrics) return { ...base, acked: null, current: null, status: "UNREACHABLE", certExpirySeconds: null, error: p.metrics.error };
    const acked = p.metrics.snapshotVersion;
    const mine = (streams ?? []).filter((s) => s.namespace === p.namespace && s.serviceAccount === p.serviceAccount && s.streams > 0);
    const match = mine.find((s) => s.acked === acked && acked !== null && s.current !== "") ?? mine.find((s) => s.current !== "");
    const current = match?.current ?? null;
    let status: SyncStatus;
    if (streams === null) status = "UNKNOWN";
    else if (mine.length === 0 || acked === null) status = "NOT CONNECTED";
    else status = current !== null && current === acked ? "SYNCED" : "STALE";
    return { ...base, acked, current, status, certExpirySeconds: p.metrics.certExpirySeconds, error: null };
  });
  return rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.pod.localeCompare(b.pod));
}

const COLUMNS: Column<ProxyStatusRow>[] = [
  { header: "NAMESPACE", value: (r) => r.namespace },
  { header: "POD", value: (r) => r.pod },
  { header: "ACKED", value: (r) => r.acked ?? "-" },
  { header: "CURRENT", value: (r) => r.current ?? "-" },
  { header: "STATUS", value: (r) => r.status },
  { header: "CERT EXPIRES", value: (r) => (r.certExpirySeconds === null ? "-" : shortDuration(r.certExpirySeconds)) },
  { header: "VERSION", value: (r) => r.proxyVersion || "-" },
  { header: "SERVICE ACCOUNT", value: (r) => r.serviceAccount, wide: true },
  { header: "ERROR", value: (r) => r.error ?? "", wide: true },
];

export interface ProxyStatusReport {
  controlPlane: { namespace: string; error: string | null };
  proxies: ProxyStatusRow[];
}

export function formatProxyStatus(report: ProxyStatusReport, format: OutputFormat): string {
  return formatOutput(format, report, (wide) => {
    const warn = report.controlPlane.error === null ? "" : `warning: cannot read the control plane in ${report.controlPlane.namespace}: ${report.controlPlane.error}\n`;
    return warn + (report.proxies.length === 0 ? "no meshed pods\n" : formatTable(COLUMNS, report.proxies, wide));
  });
}

export function allInSync(report: ProxyStatusReport): boolean {
  return report.controlPlane.error === null && report.proxies.every((p) => p.status === "SYNCED");
}
