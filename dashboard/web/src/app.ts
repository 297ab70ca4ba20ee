// The dashboard's browser app: a hash router over four views (graph, workload, tap,
// health). Built by dashboard/build-web.ts into dist/dashboard/web; no CDN at run time.
import "uplot/dist/uPlot.min.css";
import type { DashboardConfig } from "../../src/contract.ts";
import { errorBox, getJson } from "./dom.ts";
import { renderGraph } from "./graph-view.ts";
import { renderHealth } from "./health-view.ts";
import { renderTap, stopTap } from "./tap-view.ts";
import { renderWorkload } from "./workload-view.ts";

const view = document.getElementById("view") as HTMLElement;
const windowSelect = document.getElementById("window") as HTMLSelectElement;
let config: DashboardConfig = { window: "1m", jaegerUrl: "" };

async function route(): Promise<void> {
  const [path = "", queryText = ""] = location.hash.replace(/^#\/?/, "").split("?", 2);
  const parts = path.split("/").filter((p) => p !== "").map(decodeURIComponent);
  const query = new URLSearchParams(queryText);
  const page = parts[0] ?? "graph";
  for (const a of document.querySelectorAll<HTMLAnchorElement>("nav a")) a.classList.toggle("active", a.dataset.nav === page);
  if (page !== "tap") stopTap();
  const window_ = windowSelect.value;
  switch (page) {
    case "workload": {
      const [, namespace = "", kind = "", name = ""] = parts;
      await renderWorkload(view, namespace, kind, name, window_, Number(query.get("range") ?? "3600"));
      return;
    }
    case "tap":
      renderTap(view, config, query);
      return;
    case "health":
      await renderHealth(view);
      return;
    default:
      await renderGraph(view, window_, (parts[1] ?? "").split(",").filter((s) => s !== ""));
  }
}

async function start(): Promise<void> {
  try {
    config = await getJson<DashboardConfig>("/api/config");
  } catch (err) {
    view.replaceChildren(errorBox(err));
    return;
  }
  if (![...windowSelect.options].some((o) => o.value === config.window)) windowSelect.append(new Option(config.window, config.window));
  windowSelect.value = config.window;
  windowSelect.addEventListener("change", () => void route());
  window.addEventListener("hashchange", () => void route());
  await route();
}

void start();
