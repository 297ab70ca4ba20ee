// The health page: `weft check`'s results, as the dashboard's ServiceAccount sees them.
import type { HealthView } from "../../src/contract.ts";
import { errorBox, getJson, h } from "./dom.ts";

export async function renderHealth(root: HTMLElement): Promise<void> {
  root.replaceChildren(h("h2", {}, "Health"), h("p", { class: "muted" }, "running weft check…"));
  try {
    const v = await getJson<HealthView>("/api/health");
    const failed = v.results.filter((r) => !r.ok).length;
    root.replaceChildren(
      h("h2", {}, "Health"),
      h("p", { "data-testid": "health-summary" }, failed === 0 ? `all ${v.results.length} checks passed` : `${failed} of ${v.results.length} checks failed`),
      h("ul", { class: "checks", "data-testid": "checks" }, ...v.results.map((r) => h("li", { class: r.ok ? "ok" : "failed" },
        h("span", { class: "mark", "aria-label": r.ok ? "passed" : "failed" }, r.ok ? "√" : "×"), " ", h("strong", {}, r.name), `: ${r.message}`,
        r.hint ? h("div", { class: "hint" }, r.hint) : null))),
    );
  } catch (err) {
    root.replaceChildren(h("h2", {}, "Health"), errorBox(err));
  }
}
