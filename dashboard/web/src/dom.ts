// Small DOM helpers and the number formats every view shares (as the CLI prints them).

type Attrs = Record<string, string | number | boolean | undefined | ((ev: Event) => void)>;

/** An element with attributes (on* as listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string | null | undefined)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

export function table(headers: string[], rows: (Node | string)[][], attrs: Attrs = {}): HTMLTableElement {
  return h("table", attrs, h("thead", {}, h("tr", {}, ...headers.map((x) => h("th", {}, x)))), h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))));
}

export const pct = (v: number | null): string => (v === null ? "-" : `${(v * 100).toFixed(2)}%`);
export const ms = (v: number | null): string => (v === null ? "-" : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}ms`);
export const rps = (v: number): string => `${v.toFixed(v >= 100 ? 0 : 1)}rps`;

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { accept: "application/json" } });
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${url} answered ${res.status}`);
  return body;
}

export function errorBox(err: unknown): HTMLElement {
  return h("p", { class: "error", role: "alert" }, err instanceof Error ? err.message : String(err));
}

/** Success rate to a color: green at 100%, amber from 95%, red below 90% (and grey for no traffic). */
export function successColor(v: number | null): string {
  if (v === null) return "#8a8f98";
  if (v >= 0.99) return "#2e9e5b";
  if (v >= 0.95) return "#d59a16";
  return "#d43c3c";
}
