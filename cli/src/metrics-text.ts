// The Prometheus text exposition format (version 0.0.4), as `weft check` and
// `weft demo` read the control plane's and the proxies' /metrics: one sample a
// line, `name{label="value",...} value [timestamp]`. HELP and TYPE lines carry
// nothing either reader needs, so they are skipped with the other comments. A
// proxy's /metrics is untrusted input: a line that does not follow the grammar
// is dropped with its reason, never thrown on, and the rest of the scrape is kept.
// docs/decisions.md says why this is not an npm package.
import { fail, ok, type Result } from "../../lib/result.ts";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  /** May be NaN or ±Infinity, which the format spells NaN, +Inf and -Inf. */
  value: number;
  /** Milliseconds since the epoch, when the exporter gave one. */
  timestampMs?: number;
}

const METRIC_NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const TOKEN = /[^ \t]+/y;
// Go's strconv.ParseFloat, which the reference parser uses, minus its hex and underscore forms.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY = /^[+-]?inf(?:inity)?$/i;
const TIMESTAMP = /^-?\d+$/;

/** One line's reader; `at` moves along the line as tokens are taken. */
class LineReader {
  at = 0;
  readonly line: string;
  constructor(line: string) {
    this.line = line;
  }

  blanks(): void {
    while (this.line[this.at] === " " || this.line[this.at] === "\t") this.at++;
  }

  take(pattern: RegExp): string | undefined {
    pattern.lastIndex = this.at;
    const m = pattern.exec(this.line);
    if (m === null) return undefined;
    this.at = pattern.lastIndex;
    return m[0];
  }

  next(char: string): boolean {
    if (this.line[this.at] !== char) return false;
    this.at++;
    return true;
  }
}

/** A quoted label value with the format's three escapes (\\, \" and \n); the reader is on the opening quote. */
function labelValue(r: LineReader): string | undefined {
  let out = "";
  for (let i = r.at + 1; i < r.line.length; i++) {
    const c = r.line[i];
    if (c === '"') {
      r.at = i + 1;
      return out;
    }
    if (c !== "\\") {
      out += c;
      continue;
    }
    const escaped = r.line[++i];
    if (escaped === "\\" || escaped === '"') out += escaped;
    else if (escaped === "n") out += "\n";
    else return undefined;
  }
  return undefined;
}

function labels(r: LineReader): Result<Record<string, string>> {
  const pairs: [string, string][] = [];
  for (;;) {
    r.blanks();
    if (r.next("}")) break;
    const name = r.take(LABEL_NAME);
    if (name === undefined) return fail("bad-label-name", `no label name at column ${r.at + 1}`);
    r.blanks();
    if (!r.next("=")) return fail("bad-label", `no "=" after label ${name}`);
    r.blanks();
    if (r.line[r.at] !== '"') return fail("bad-label-value", `label ${name} has no quoted value`);
    const value = labelValue(r);
    if (value === undefined) return fail("bad-label-value", `label ${name}'s value has a bad escape or no closing quote`);
    if (pairs.some(([n]) => n === name)) return fail("duplicate-label", `label ${name} appears twice`);
    pairs.push([name, value]);
    r.blanks();
    if (r.next("}")) break;
    if (!r.next(",")) return fail("bad-label", `no "," or "}" after label ${name}`);
  }
  // fromEntries defines own properties, so a label named __proto__ stays a label.
  return ok(Object.fromEntries(pairs));
}

function sampleValue(token: string): number | undefined {
  if (DECIMAL.test(token)) return Number(token);
  if (INFINITY.test(token)) return token.startsWith("-") ? -Infinity : Infinity;
  if (token.toLowerCase() === "nan") return NaN;
  return undefined;
}

/** One sample line (not a comment, not blank), or why it is not one. */
export function parseSampleLine(line: string): Result<Sample> {
  const r = new LineReader(line);
  r.blanks();
  const name = r.take(METRIC_NAME);
  if (name === undefined) return fail("bad-metric-name", "line does not start with a metric name");
  r.blanks();
  let sampleLabels: Record<string, string> = {};
  if (r.next("{")) {
    const read = labels(r);
    if (!read.ok) return read;
    sampleLabels = read.value;
  }
  r.blanks();
  const valueToken = r.take(TOKEN);
  const value = valueToken === undefined ? undefined : sampleValue(valueToken);
  if (value === undefined) return fail("bad-value", `${name} has no number for a value`);
  const sample: Sample = { name, labels: sampleLabels, value };
  r.blanks();
  const timestamp = r.take(TOKEN);
  if (timestamp !== undefined) {
    if (!TIMESTAMP.test(timestamp)) return fail("bad-timestamp", `${name} has a timestamp that is not whole milliseconds`);
    sample.timestampMs = Number(timestamp);
  }
  r.blanks();
  if (r.at !== line.length) return fail("trailing-text", `${name} has text after its value`);
  return ok(sample);
}

/** Every readable sample of a scrape, in order; unreadable lines are left out. */
export function parseMetricsText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const sample = parseSampleLine(line);
    if (sample.ok) out.push(sample.value);
  }
  return out;
}

/** The sum over a metric's series, or undefined when it has none. */
export function metricSum(samples: Sample[], name: string): number | undefined {
  const matching = samples.filter((s) => s.name === name);
  return matching.length === 0 ? undefined : matching.reduce((sum, s) => sum + s.value, 0);
}
