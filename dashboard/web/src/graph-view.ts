// The mesh graph: workloads as nodes, calls as edges colored by success rate, labelled
// with requests per second, dashed when not mTLS (cytoscape, breadthfirst layout:
// callers above callees). A table below lists the same edges for reading and searching.
import cytoscape from "cytoscape";
import type { GraphView } from "../../src/contract.ts";
import { errorBox, getJson, h, pct, rps, successColor, table } from "./dom.ts";

export interface GraphState {
  cy: cytoscape.Core | null;
  /** ms from data in hand to the layout drawn (the tests read it). */
  renderMs: number;
  /** ms from the last press on the graph to the frame that shows its selection. */
  selectMs: number;
}

declare global {
  interface Window {
    weftGraph?: GraphState;
  }
}

/** Beyond this many edges the graph draws for speed: straight edges, rate labels only on the selected workload's edges. */
const LARGE = 300;

function styleOf(dark: boolean, large: boolean): cytoscape.StylesheetJson {
  const fg = dark ? "#e6e6e6" : "#1d1f23";
  return [
    { selector: "node", style: { label: "data(label)", "font-size": 10, color: fg, "background-color": dark ? "#5b8def" : "#2f6fdf", width: 18, height: 18, "text-valign": "bottom", "text-margin-y": 3 } },
    { selector: "node.unmeshed", style: { "background-color": "#8a8f98", shape: "diamond" } },
    { selector: "node:selected", style: { "border-width": 3, "border-color": "#f2a900" } },
    { selector: "edge", style: { width: 2, "curve-style": "bezier", "target-arrow-shape": "triangle", "line-color": "data(color)", "target-arrow-color": "data(color)", label: "data(label)", "font-size": 9, color: fg, "text-background-color": dark ? "#15171a" : "#ffffff", "text-background-opacity": 0.8, "text-background-padding": "1px" } },
    { selector: "edge.plaintext", style: { "line-style": "dashed" } },
    { selector: "edge:selected", style: { width: 4 } },
    ...(large
      ? ([
          { selector: "edge", style: { "curve-style": "straight", label: "", width: 1, "arrow-scale": 0.6 } },
          { selector: "edge.near", style: { label: "data(label)", width: 2 } },
        ] as cytoscape.StylesheetJson)
      : []),
  ];
}

function detail(view: GraphView, id: string): HTMLElement {
  const node = view.nodes.find((n) => n.id === id);
  if (!node) return h("p", {}, "Select a workload or an edge.");
  const out = view.edges.filter((e) => e.source === id);
  const inn = view.edges.filter((e) => e.target === id);
  const link = node.name.startsWith("deploy/") ? h("a", { href: `#/workload/${node.namespace}/${node.name}`, "data-testid": "open-workload" }, "open workload page") : null;
  return h("div", { "data-testid": "selected" },
    h("h3", { "data-testid": "selected-name" }, node.id),
    link,
    h("p", {}, `${inn.length} callers, ${out.length} callees`),
  );
}

export async function renderGraph(root: HTMLElement, window_: string, selectedNs: string[]): Promise<void> {
  const state: GraphState = { cy: null, renderMs: 0, selectMs: -1 };
  window.weftGraph = state;
  const nsParam = selectedNs.length > 0 ? `&ns=${encodeURIComponent(selectedNs.join(","))}` : "";
  let view: GraphView;
  try {
    view = await getJson<GraphView>(`/api/graph?window=${encodeURIComponent(window_)}${nsParam}`);
  } catch (err) {
    root.replaceChildren(errorBox(err));
    return;
  }
  const started = performance.now();
  const canvas = h("div", { id: "graph", "data-testid": "graph" });
  const side = h("aside", { id: "graph-side" }, h("p", {}, "Select a workload or an edge."));
  const filter = h("select", { id: "ns-filter", multiple: true, size: Math.min(6, Math.max(2, view.namespaces.length)), "aria-label": "namespaces" },
    ...view.namespaces.map((n) => h("option", { value: n, selected: selectedNs.includes(n) }, n)));
  filter.addEventListener("change", () => {
    const chosen = [...filter.selectedOptions].map((o) => o.value);
    location.hash = chosen.length > 0 ? `#/graph/${chosen.join(",")}` : "#/graph";
  });
  const sorted = [...view.edges].sort((a, b) => b.rps - a.rps);
  const edgeTable = table(["from", "to", "rps", "success", "mTLS"], sorted.map((e) => [e.source, e.target, rps(e.rps), pct(e.successRate), e.mtls ? "yes" : "no"]), { "data-testid": "edge-table", class: "edges" });
  root.replaceChildren(
    h("section", { class: "graph-page" },
      h("div", { class: "graph-main" }, canvas),
      h("div", { class: "graph-aside" }, h("label", {}, "Namespaces", filter), side, h("p", { class: "legend" }, "edge color: success rate; dashed: not mTLS; label: requests per second")),
    ),
    h("details", { open: view.edges.length <= 50 }, h("summary", {}, `${view.nodes.length} workload${view.nodes.length === 1 ? "" : "s"}, ${view.edges.length} edge${view.edges.length === 1 ? "" : "s"} over ${view.window}`), edgeTable),
  );
  if (view.nodes.length === 0) {
    canvas.append(h("p", { class: "empty" }, `No traffic in the last ${view.window}.`));
    state.renderMs = performance.now() - started;
    canvas.setAttribute("data-rendered", "true");
    return;
  }
  const dark = matchMedia("(prefers-color-scheme: dark)").matches;
  const cy = cytoscape({
    container: canvas,
    elements: [
      ...view.nodes.map((n) => ({ data: { id: n.id, label: n.name.startsWith("(") ? `${n.namespace} ${n.name}` : n.name.replace(/^deploy\//, ""), namespace: n.namespace }, classes: n.name.startsWith("(") ? "unmeshed" : "" })),
      ...view.edges.map((e) => ({ data: { id: e.id, source: e.source, target: e.target, label: rps(e.rps), color: successColor(e.successRate) }, classes: e.mtls ? "" : "plaintext" })),
    ],
    style: styleOf(dark, view.edges.length > LARGE),
    layout: { name: "breadthfirst", directed: true, spacingFactor: 1.1, animate: false },
    // Large meshes: skip label and arrow drawing while panning, so moving stays smooth.
    hideEdgesOnViewport: view.edges.length > LARGE,
    textureOnViewport: view.edges.length > LARGE,
    minZoom: 0.05,
    maxZoom: 4,
    wheelSensitivity: 0.3,
  });
  state.cy = cy;
  // A small mesh fitted to the whole canvas would be drawn huge: no closer than 1.5×.
  if (cy.zoom() > 1.5) {
    cy.zoom(1.5);
    cy.center();
  }
  let pressedAt = 0;
  canvas.addEventListener("pointerdown", () => (pressedAt = performance.now()), { capture: true });
  cy.on("tap", "node", (ev) => {
    side.replaceChildren(detail(view, String(ev.target.id())));
    cy.batch(() => {
      cy.edges(".near").removeClass("near");
      (ev.target as cytoscape.NodeSingular).connectedEdges().addClass("near");
    });
    // The selection is on screen after the next frame is drawn.
    const started = pressedAt;
    requestAnimationFrame(() => requestAnimationFrame(() => (state.selectMs = performance.now() - started)));
  });
  cy.on("tap", "edge", (ev) => {
    const e = view.edges.find((x) => x.id === String(ev.target.id()));
    if (e) side.replaceChildren(h("div", { "data-testid": "selected" }, h("h3", { "data-testid": "selected-name" }, `${e.source} → ${e.target}`), h("p", {}, `${rps(e.rps)}, ${pct(e.successRate)} success, ${e.mtls ? "mTLS" : "not mTLS"}`)));
  });
  await new Promise<void>((r) => requestAnimationFrame(() => r()));
  state.renderMs = performance.now() - started;
  canvas.setAttribute("data-rendered", "true");
}
