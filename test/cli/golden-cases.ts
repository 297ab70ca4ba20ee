// The CLI's golden cases under test/cli/golden/<command>/: <case>.input.json is
// what the command read (recorded pages or facts), and <case>.table.txt,
// <case>.wide.txt and <case>.json are its output for -o table, wide and json.
// `npm run test:cli-golden:update` (test/cli/golden-update.ts) rewrites the
// outputs and the examples in docs/cli.md; review the diff before committing.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { OutputFormat } from "../../cli/src/kube-flags.ts";
import { formatProxyConfig, type ProxyConfigPages } from "../../cli/src/proxy-config-format.ts";
import { formatProxyStatus, proxyStatusRows, type ProxyFact, type StreamFact } from "../../cli/src/proxy-status-rows.ts";
import { formatVersion, type VersionReport } from "../../cli/src/version-report.ts";
import type { EdgeQuery, StatQuery, Target, TopQuery } from "../../cli/src/prom-queries.ts";
import { edgeRows, formatEdges, formatStat, formatTop, statRows, topRows, type PodFact, type PromSample } from "../../cli/src/prom-rows.ts";
import { formatTap } from "../../cli/src/tap-format.ts";
import { formatTopPaths, PathWindow } from "../../cli/src/top-paths.ts";
import type { TapEvent } from "../../lib/tap-contract.ts";

export const CLI_GOLDEN_DIR = fileURLToPath(new URL("./golden/", import.meta.url));
export const DOCS_CLI = fileURLToPath(new URL("../../docs/cli.md", import.meta.url));

interface StatusInput {
  controlPlaneNamespace: string;
  controlPlaneError?: string;
  proxies: ProxyFact[];
  streams: StreamFact[] | null;
}

/** stat/top/edges: Prometheus's recorded answers to the command's queries (test/prometheus/stat-real.test.ts records them). */
interface PromInput<Q extends string> {
  target: Target;
  window: string;
  answers: Record<Q, PromSample[]>;
  pods?: PodFact[] | null;
  limit?: number;
  trustDomain?: string;
}

/** top --by path: the tap events as they arrived (arrival time and event), and when the table was drawn. */
interface TopPathsInput {
  windowSeconds: number;
  sampledAtMostRps: number;
  limit: number;
  now: number;
  events: { at: number; event: TapEvent }[];
}

const RENDER: Record<string, (input: unknown, format: OutputFormat) => string> = {
  edges: (input, format) => {
    const i = input as PromInput<EdgeQuery>;
    return formatEdges({ window: i.window, rows: edgeRows(i.target, i.answers, i.trustDomain ?? "cluster.local") }, format);
  },
  "proxy-config": (input, format) => formatProxyConfig(input as ProxyConfigPages, format),
  "proxy-status": (input, format) => {
    const i = input as StatusInput;
    const report = { controlPlane: { namespace: i.controlPlaneNamespace, error: i.controlPlaneError ?? null }, proxies: proxyStatusRows(i.proxies, i.streams) };
    return formatProxyStatus(report, format);
  },
  stat: (input, format) => {
    const i = input as PromInput<StatQuery>;
    return formatStat({ window: i.window, rows: statRows(i.target, i.answers, i.pods ?? null) }, format);
  },
  top: (input, format) => {
    const i = input as PromInput<TopQuery>;
    return formatTop({ window: i.window, rows: topRows(i.answers, i.limit ?? 10) }, format);
  },
  "top-paths": (input, format) => {
    const i = input as TopPathsInput;
    const paths = new PathWindow(i.windowSeconds * 1000);
    for (const { at, event } of i.events) paths.add(event, at);
    return formatTopPaths({ windowSeconds: i.windowSeconds, sampledAtMostRps: i.sampledAtMostRps, rows: paths.rows(i.now, i.limit) }, format);
  },
  version: (input, format) => formatVersion(input as VersionReport, format),
  tap: (input, format) => formatTap(input as TapEvent[], format),
};

export const FORMATS: Record<string, OutputFormat> = { "table.txt": "table", "wide.txt": "wide", json: "json" };

export function cliGoldenCases(): { command: string; name: string }[] {
  return Object.keys(RENDER).flatMap((command) =>
    readdirSync(join(CLI_GOLDEN_DIR, command))
      .filter((f) => f.endsWith(".input.json"))
      .map((f) => ({ command, name: f.slice(0, -".input.json".length) }))
      .sort((a, b) => a.name.localeCompare(b.name)));
}

/** Every output of one case, by file suffix. */
export function renderCliGolden(command: string, name: string): Record<string, string> {
  const input: unknown = JSON.parse(readFileSync(join(CLI_GOLDEN_DIR, command, `${name}.input.json`), "utf8"));
  const render = RENDER[command];
  if (!render) throw new Error(`no renderer for ${command}`);
  return Object.fromEntries(Object.entries(FORMATS).map(([suffix, format]) => [suffix, render(input, format)]));
}

/**
 * docs/cli.md with every `<!-- golden: command/case.suffix -->` marker's code
 * block replaced by that golden file, so the examples are never typed by hand.
 */
export function renderDocs(doc: string, read: (rel: string) => string): string {
  return doc.replace(/<!-- golden: (\S+) -->\n```text\n[\s\S]*?```\n/g, (_m, rel: string) => `<!-- golden: ${rel} -->\n\`\`\`text\n${read(rel)}\`\`\`\n`);
}
