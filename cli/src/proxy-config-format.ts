// `weft proxy-config` output: what one proxy's /proxy-config/* pages hold,
// rendered as tables (or passed through as JSON/YAML). Pure: the pages in,
// text out, so the golden tests feed it recorded pages.
import type { CertificateRow, EndpointRow, RouteRow, ServiceRow } from "../../sidecar/src/admin/proxy-config-view.ts";
import type { OutputFormat } from "./kube-flags.ts";
import { formatOutput, formatTable, shortDuration, type Column } from "./output-format.ts";

export const SECTIONS = ["endpoints", "routes", "policy", "certs", "bootstrap"] as const;
export type Section = (typeof SECTIONS)[number];

/** The pages as the proxy served them; a section the command did not ask for is absent. */
export interface ProxyConfigPages {
  pod: string;
  endpoints?: { version: string | null; services: ServiceRow[] };
  policy?: { version: string | null; policy: unknown };
  certs?: { certificates: CertificateRow[] };
  bootstrap?: { proxyVersion: string; config: unknown };
  routes?: { version: string | null; routes: RouteRow[] };
}

type EndpointLine = EndpointRow & { service: string };

const ENDPOINT_COLUMNS: Column<EndpointLine>[] = [
  { header: "SERVICE", value: (r) => r.service },
  { header: "ENDPOINT", value: (r) => `${r.address}:${r.portNumber}` },
  { header: "PORT", value: (r) => r.port, wide: true },
  { header: "READY", value: (r) => (r.ready ? "yes" : "no") },
  { header: "EWMA", value: (r) => (r.ewmaMs === null ? "-" : `${r.ewmaMs.toFixed(1)}ms`) },
  { header: "IN-FLIGHT", value: (r) => String(r.inflight) },
  { header: "BREAKER", value: (r) => (r.breaker === "ejected" && r.ejectedForMs !== null ? `ejected (${shortDuration(r.ejectedForMs / 1000)} left)` : r.breaker) },
  { header: "FAILURES", value: (r) => String(r.consecutiveFailures), wide: true },
  { header: "ZONE", value: (r) => r.zone || "-", wide: true },
  { header: "IDENTITY", value: (r) => r.identity || "-", wide: true },
];

const CERT_COLUMNS: Column<CertificateRow>[] = [
  { header: "SPIFFE ID", value: (r) => r.spiffeId || "-" },
  { header: "SERIAL", value: (r) => r.serial },
  { header: "NOT BEFORE", value: (r) => r.notBefore },
  { header: "NOT AFTER", value: (r) => r.notAfter },
  { header: "EXPIRES IN", value: (r) => (r.expiresInSeconds < 0 ? `expired ${shortDuration(-r.expiresInSeconds)} ago` : shortDuration(r.expiresInSeconds)) },
  { header: "SUBJECT", value: (r) => r.subject || "-", wide: true },
  { header: "ISSUER", value: (r) => r.issuer },
];

const ROUTE_COLUMNS: Column<RouteRow>[] = [
  { header: "SERVICE", value: (r) => r.service },
  { header: "PORT", value: (r) => (r.port === 0 ? "*" : String(r.port)) },
  { header: "MATCH", value: (r) => r.match },
  { header: "ROUTE", value: (r) => (r.rule ? `${r.route} (${r.rule})` : r.route) },
  { header: "BACKENDS", value: (r) => r.backends.join(", ") || "none: 500" },
];

function routesTable(p: NonNullable<ProxyConfigPages["routes"]>, wide: boolean): string {
  const head = `snapshot version: ${p.version ?? "(none yet)"}; matches in the order the proxy tries them\n`;
  return head + (p.routes.length > 0 ? formatTable(ROUTE_COLUMNS, p.routes, wide) : "no routes: every Service is called as without routes\n");
}

function endpointsTable(p: NonNullable<ProxyConfigPages["endpoints"]>, wide: boolean): string {
  const rows = p.services.flatMap((s) => (s.endpoints.length === 0 ? [] : s.endpoints.map((e) => ({ ...e, service: s.service }))));
  const empty = p.services.filter((s) => s.endpoints.length === 0).map((s) => s.service);
  const head = `snapshot version: ${p.version ?? "(none yet)"}\n`;
  const none = empty.length > 0 ? `services without endpoints: ${empty.join(", ")}\n` : "";
  return head + (rows.length > 0 ? formatTable(ENDPOINT_COLUMNS, rows, wide) : "no endpoints\n") + none;
}

function section(pages: ProxyConfigPages, name: Section, wide: boolean): string | undefined {
  switch (name) {
    case "endpoints":
      return pages.endpoints && endpointsTable(pages.endpoints, wide);
    case "routes":
      return pages.routes && routesTable(pages.routes, wide);
    case "policy":
      return pages.policy && `snapshot version: ${pages.policy.version ?? "(none yet)"}\n${JSON.stringify(pages.policy.policy, null, 2)}\n`;
    case "certs":
      return pages.certs && (pages.certs.certificates.length > 0 ? formatTable(CERT_COLUMNS, pages.certs.certificates, wide) : "no certificate yet\n");
    case "bootstrap":
      return pages.bootstrap && `proxy version: ${pages.bootstrap.proxyVersion || "unknown"}\n${JSON.stringify(pages.bootstrap.config, null, 2)}\n`;
  }
}

export function formatProxyConfig(pages: ProxyConfigPages, format: OutputFormat): string {
  return formatOutput(format, pages, (wide) => {
    const parts = SECTIONS.map((name) => [name, section(pages, name, wide)] as const).filter(([, text]) => text !== undefined);
    // One section alone needs no heading; several get kubectl-describe-like titles.
    if (parts.length === 1) return parts[0]?.[1] ?? "";
    return parts.map(([name, text]) => `${name.toUpperCase()}\n${text ?? ""}`).join("\n");
  });
}
