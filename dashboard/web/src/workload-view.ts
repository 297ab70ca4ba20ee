// A workload's (or a Service's) page: the figures `weft stat` prints for it now, charts
// of the same queries over a chosen range (uPlot), its meshed pods with proxy versions
// and certificate expiry, and the routes and authorization policies that apply.
import uPlot from "uplot";
import type { StatView, WorkloadView } from "../../src/contract.ts";
import { errorBox, getJson, h, ms, pct, rps, table } from "./dom.ts";

const RANGES: [string, number][] = [["15m", 900], ["1h", 3600], ["6h", 21600], ["24h", 86400]];

function figure(label: string, text: string, testid: string, value: number | null): HTMLElement {
  return h("div", { class: "figure" }, h("span", { class: "figure-label" }, label), h("span", { class: "figure-value", "data-testid": testid, "data-value": value === null ? "" : String(value) }, text));
}

function chart(title: string, stat: StatView, series: { label: string; values: (number | null)[]; color: string }[], unit: (v: number) => string, width: number, yRange?: [number, number]): HTMLElement {
  const box = h("div", { class: "chart", "data-testid": `chart-${title.toLowerCase().replace(/[^a-z]+/g, "-")}` }, h("h4", {}, title));
  const dark = matchMedia("(prefers-color-scheme: dark)").matches;
  const axis = { stroke: dark ? "#c8c8c8" : "#333", grid: { stroke: dark ? "#2a2d33" : "#e4e6ea" }, ticks: { stroke: dark ? "#2a2d33" : "#e4e6ea" } };
  const opts: uPlot.Options = {
    width,
    height: 170,
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: false, value: (_u: uPlot, v: number | null) => (v === null ? "-" : unit(v)) }))],
    axes: [axis, { ...axis, values: (_u: uPlot, vals: number[]) => vals.map(unit), size: 60 }],
    scales: yRange ? { x: { time: true }, y: { range: yRange } } : { x: { time: true } },
    legend: { live: true },
  };
  const data: uPlot.AlignedData = [stat.series.t, ...series.map((s) => s.values)];
  new uPlot(opts, data, box);
  return box;
}

function expiry(seconds: number | null): string {
  if (seconds === null) return "-";
  const left = seconds - Date.now() / 1000;
  if (left <= 0) return "expired";
  return left >= 86400 ? `${(left / 86400).toFixed(1)}d` : `${(left / 3600).toFixed(1)}h`;
}

export async function renderWorkload(root: HTMLElement, namespace: string, kind: string, name: string, window_: string, range: number): Promise<void> {
  const base = `${encodeURIComponent(namespace)}/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`;
  root.replaceChildren(h("h2", {}, `${namespace}/${kind}/${name}`), h("p", { class: "muted" }, "loading…"));
  let stat: StatView;
  try {
    stat = await getJson<StatView>(`/api/stat/${base}?window=${encodeURIComponent(window_)}&range=${range}`);
  } catch (err) {
    root.replaceChildren(h("h2", {}, `${namespace}/${kind}/${name}`), errorBox(err));
    return;
  }
  const now = stat.now;
  const ranges = h("div", { class: "ranges", role: "group", "aria-label": "history" },
    ...RANGES.map(([label, seconds]) => h("a", { href: `#/workload/${namespace}/${kind}/${name}?range=${seconds}`, class: seconds === range ? "active" : "" }, label)));
  const figures = h("div", { class: "figures", "data-testid": "figures" },
    figure("requests", now ? rps(now.rps) : "-", "stat-rps", now?.rps ?? null),
    figure("success", pct(now?.successRate ?? null), "stat-success", now?.successRate ?? null),
    figure("p50", ms(now?.latencyMs.p50 ?? null), "stat-p50", now?.latencyMs.p50 ?? null),
    figure("p95", ms(now?.latencyMs.p95 ?? null), "stat-p95", now?.latencyMs.p95 ?? null),
    figure("p99", ms(now?.latencyMs.p99 ?? null), "stat-p99", now?.latencyMs.p99 ?? null),
    figure("mTLS", pct(now?.tlsShare ?? null), "stat-tls", now?.tlsShare ?? null),
    figure("meshed", now?.meshedPods === null || now === null ? "-" : now.totalPods === null ? String(now.meshedPods) : `${now.meshedPods}/${now.totalPods}`, "stat-meshed", now?.meshedPods ?? null),
  );
  const width = Math.max(320, Math.min(560, Math.floor((root.clientWidth || 1200) / 2) - 24));
  const charts = h("div", { class: "charts" },
    chart("Requests per second", stat, [{ label: "rps", values: stat.series.rps, color: "#2f6fdf" }], (v) => v.toFixed(1), width),
    chart("Success rate", stat, [{ label: "success", values: stat.series.successRate.map((v) => (v === null ? null : v * 100)), color: "#2e9e5b" }], (v) => `${v.toFixed(1)}%`, width, [0, 100]),
    chart("Latency", stat, [
      { label: "p50", values: stat.series.p50Ms, color: "#7a5cd6" },
      { label: "p95", values: stat.series.p95Ms, color: "#d59a16" },
      { label: "p99", values: stat.series.p99Ms, color: "#d43c3c" },
    ], (v) => `${v.toFixed(0)}ms`, width),
  );
  root.replaceChildren(
    h("h2", { "data-testid": "workload-title" }, `${namespace}/${kind}/${name}`),
    h("p", { class: "muted" }, `rates over ${stat.window}, history every ${stat.step}s`),
    ranges, figures, charts,
    h("section", { id: "workload-details" }, h("p", { class: "muted" }, "loading pods and policies…")),
  );
  if (kind === "svc") {
    root.querySelector("#workload-details")?.replaceChildren(h("p", { class: "muted" }, "A Service's figures are what its meshed callers sent to it."));
    return;
  }
  let w: WorkloadView;
  try {
    w = await getJson<WorkloadView>(`/api/workload/${base}`);
  } catch (err) {
    root.querySelector("#workload-details")?.replaceChildren(errorBox(err));
    return;
  }
  root.querySelector("#workload-details")?.replaceChildren(
    h("h3", {}, "Meshed pods"),
    w.proxies.length === 0 ? h("p", { class: "muted" }, "No meshed pods.") : table(["pod", "proxy version", "sync", "certificate expires in"], w.proxies.map((p) => [p.pod, p.proxyVersion, p.status, expiry(p.certExpirySeconds)]), { "data-testid": "pods" }),
    h("h3", {}, "Routes"),
    w.routes.length === 0 ? h("p", { class: "muted" }, "No HTTPRoute or GRPCRoute has a Service of these pods as parent.") : table(["kind", "name", "parents"], w.routes.map((r) => [r.kind, `${r.namespace}/${r.name}`, r.parents.join(", ")])),
    h("h3", {}, "Authorization"),
    w.authorization.length === 0 ? h("p", { class: "muted" }, "-") : table(["pod", "default", "policies"], w.authorization.map((a) => [a.pod, a.defaultPolicy, a.policies.map((p) => `${p.name} (${p.action}, ports ${p.ports}, ${p.rules} rules)`).join("; ") || "none"])),
    ...(w.notes.length > 0 ? [h("h3", {}, "Notes"), h("ul", {}, ...w.notes.map((n) => h("li", {}, n)))] : []),
  );
}
