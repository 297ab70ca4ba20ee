// `weft version`'s pure core: the CLI's release, the control plane's (its
// image tag) and the proxies' (each version with how many pods run it).
import type { OutputFormat } from "./kube-flags.ts";
import { formatOutput, formatTable } from "./output-format.ts";

export interface VersionReport {
  client: string;
  /** Absent with --client; a string error when the cluster could not be read. */
  controlPlane?: { version: string } | { error: string };
  proxies?: { version: string; pods: number }[] | { error: string };
}

export function countVersions(versions: readonly string[]): { version: string; pods: number }[] {
  const counts = new Map<string, number>();
  for (const v of versions) counts.set(v || "unknown", (counts.get(v || "unknown") ?? 0) + 1);
  return [...counts.entries()].map(([version, pods]) => ({ version, pods })).sort((a, b) => a.version.localeCompare(b.version));
}

interface Line {
  component: string;
  version: string;
  detail: string;
}

export function formatVersion(report: VersionReport, format: OutputFormat): string {
  return formatOutput(format, report, (wide) => {
    const lines: Line[] = [{ component: "client", version: report.client, detail: "" }];
    const cp = report.controlPlane;
    if (cp) lines.push("error" in cp ? { component: "control-plane", version: "-", detail: cp.error } : { component: "control-plane", version: cp.version, detail: "" });
    const px = report.proxies;
    if (px && "error" in px) lines.push({ component: "proxy", version: "-", detail: px.error });
    else if (px && px.length === 0) lines.push({ component: "proxy", version: "-", detail: "no meshed pods" });
    else for (const p of px ?? []) lines.push({ component: "proxy", version: p.version, detail: `${p.pods} pod${p.pods === 1 ? "" : "s"}` });
    return formatTable([
      { header: "COMPONENT", value: (l: Line) => l.component },
      { header: "VERSION", value: (l: Line) => l.version },
      { header: "DETAIL", value: (l: Line) => l.detail },
    ], lines, wide);
  });
}
