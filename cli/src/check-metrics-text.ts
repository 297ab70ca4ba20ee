// Just enough of the Prometheus text format for `weft check` to read the control
// plane's and the proxies' /metrics: samples with labels and a value. Lines it does
// not understand are skipped, never thrown on (a proxy's /metrics is untrusted input).

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/y;

function parseLabels(text: string): Record<string, string> | null {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const at = LABEL.lastIndex;
    const m = LABEL.exec(text);
    if (m === null || LABEL.lastIndex === at) return null;
    labels[m[1] ?? ""] = (m[2] ?? "").replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
  }
  return labels;
}

export function parseMetricsText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (m === null) continue;
    const labels = parseLabels(m[2] ?? "");
    const value = Number(m[3]);
    if (labels === null || Number.isNaN(value)) continue;
    out.push({ name: m[1] ?? "", labels, value });
  }
  return out;
}

/** The sum over a metric's series, or undefined when it has none. */
export function metricSum(samples: Sample[], name: string): number | undefined {
  const matching = samples.filter((s) => s.name === name);
  return matching.length === 0 ? undefined : matching.reduce((sum, s) => sum + s.value, 0);
}
