// The live tap: the CLI's filters, one row per request as the proxies see it (newest
// first, at most MAX_ROWS kept), a trace link when Jaeger is configured.
import type { DashboardConfig, TapEvent } from "../../src/contract.ts";
import { shortIdentity } from "../../../cli/src/tap-format.ts";
import { traceLinkOf } from "../../src/trace-link.ts";
import { h } from "./dom.ts";

const MAX_ROWS = 500;

let current: EventSource | null = null;

export function stopTap(): void {
  current?.close();
  current = null;
}

export function renderTap(root: HTMLElement, config: DashboardConfig, initial: URLSearchParams): void {
  stopTap();
  const field = (name: string, label: string, placeholder: string): HTMLInputElement => h("input", { name, placeholder, "aria-label": label, value: initial.get(name) ?? "" });
  const resource = field("resource", "resource", "deploy/NAME, pod/NAME, svc/NAME or ns/NAME");
  const namespace = field("namespace", "namespace", "namespace");
  const to = field("to", "to", "--to (optional)");
  const method = field("method", "method", "--method");
  const path = field("path", "path", "--path prefix");
  const status = h("span", { class: "muted", "data-testid": "tap-status" }, "stopped");
  const body = h("tbody", { "data-testid": "tap-rows" });
  const start = h("button", { type: "submit" }, "Start");
  const stop = h("button", { type: "button", onclick: () => { stopTap(); status.textContent = "stopped"; } }, "Stop");
  const form = h("form", { class: "tap-form" }, resource, namespace, to, method, path, start, stop, status);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    stopTap();
    body.replaceChildren();
    const q = new URLSearchParams();
    for (const input of [resource, namespace, to, method, path]) if (input.value.trim() !== "") q.set(input.name, input.value.trim());
    const source = new EventSource(`/api/tap?${q.toString()}`);
    current = source;
    status.textContent = "tapping";
    source.onmessage = (m: MessageEvent<string>) => {
      const e = JSON.parse(m.data) as TapEvent;
      const link = traceLinkOf(e, config.jaegerUrl);
      const pathCell: Node = link ? h("a", { href: link, target: "_blank", rel: "noopener" }, e.path) : document.createTextNode(e.path);
      const row = h("tr", { class: e.status >= 500 || e.error ? "failed" : "" },
        h("td", {}, new Date(e.ts).toISOString().slice(11, 23)),
        h("td", {}, e.pod ?? "-"),
        h("td", {}, e.direction === "inbound" ? "in" : "out"),
        h("td", {}, shortIdentity(e.source)),
        h("td", {}, e.direction === "outbound" && e.service ? e.service : shortIdentity(e.destination)),
        h("td", {}, e.method),
        h("td", {}, pathCell),
        h("td", {}, e.error ? `${e.status} (${e.error})` : String(e.status)),
        h("td", {}, `${e.latencyMs}ms`),
        h("td", {}, e.tls ? "yes" : "no"),
      );
      body.prepend(row);
      while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
    };
    source.addEventListener("failure", (m: MessageEvent<string>) => {
      status.textContent = `failed: ${(JSON.parse(m.data) as { error: string }).error}`;
      stopTap();
    });
    source.addEventListener("end", () => {
      status.textContent = "ended";
      stopTap();
    });
  });
  root.replaceChildren(
    h("h2", {}, "Tap"),
    form,
    h("table", { class: "tap" }, h("thead", {}, h("tr", {}, ...["time", "pod", "dir", "from", "to", "method", "path", "status", "latency", "tls"].map((x) => h("th", {}, x)))), body),
  );
  if (initial.get("resource") && initial.get("namespace")) form.requestSubmit();
}
