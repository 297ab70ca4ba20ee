// `weft top <resource>`: a refreshing table (like top) of the selected pods'
// busiest traffic. By default per path, from the tap stream (paths are never
// metric labels, so only tap sees them): `--by path`. `--by route` is the
// Prometheus view by workload, direction, Service and route over --window.
// --once, -o json|yaml or output that is not a terminal print one snapshot
// (per path: after watching for --duration) and exit.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Command } from "./command.ts";
import { EXIT, UsageError } from "./exit-codes.ts";
import { runKubeCommand } from "./kube-command.ts";
import { KUBE_USAGE, namespaceOf, type ParsedArgs } from "./kube-flags.ts";
import { PROM_OPTIONS, PROM_USAGE, querierOf, runQueries, targetOf, windowOf } from "./prom-command.ts";
import { topQueries } from "./prom-queries.ts";
import { formatTop, topRows } from "./prom-rows.ts";
import { parseTapResource, tapApiPath, tapBody } from "./tap-request.ts";
import { streamTap } from "./tap-stream.ts";
import { formatTopPaths, PathWindow } from "./top-paths.ts";

const USAGE = `usage: weft top <deploy/NAME|pod/NAME|svc/NAME|ns/NAME> [--by path|route] ${KUBE_USAGE} [--window 1m] [--limit 10] [--interval 2s] [--once] [--duration 10s]
  --by path (default): the busiest paths, from the tap stream [--to RESOURCE] [--method M] [--path PREFIX] [--max-rps 100] (needs watch on <kind>/tap in tap.weft.io)
  --by route: the busiest workload/Service/route traffic, from Prometheus [-A] ${PROM_USAGE}`;

function seconds(text: unknown, flag: string): number {
  const m = /^([1-9][0-9]*)(s|m)$/.exec(String(text));
  if (!m?.[1]) throw new UsageError(`--${flag} must be a duration such as 10s or 2m, not "${String(text)}"`);
  return Number(m[1]) * (m[2] === "m" ? 60 : 1);
}

function oneShot(args: ParsedArgs): boolean {
  return args.values.once === true || args.kube.output === "json" || args.kube.output === "yaml" || !process.stdout.isTTY;
}

/** Home and clear, then the view: the terminal shows one refreshing table, as top does. */
function redraw(out: (text: string) => void, title: string, text: string): void {
  out(`\x1b[H\x1b[2J${new Date().toISOString()}  ${title} (Ctrl-C to stop)\n\n${text}`);
}

async function byRoute(args: ParsedArgs, kc: KubeConfig, out: (text: string) => void, limit: number, interval: number): Promise<number> {
  const { target } = targetOf(args, kc);
  const window = windowOf(args.values);
  const prom = await querierOf(kc, args.values);
  const queries = topQueries(target, window, limit);
  const snapshot = async (): Promise<string> => formatTop({ window, rows: topRows(await runQueries(prom, queries), limit) }, args.kube.output);
  if (oneShot(args)) {
    out(await snapshot());
    return EXIT.ok;
  }
  for (;;) {
    redraw(out, `busiest traffic over the last ${window}`, await snapshot());
    await new Promise((r) => setTimeout(r, interval * 1000));
  }
}

async function byPath(args: ParsedArgs, kc: KubeConfig, out: (text: string) => void, limit: number, interval: number): Promise<number> {
  const [text, ...extra] = args.positionals;
  if (!text || extra.length > 0) throw new UsageError("takes one resource: deploy/NAME, pod/NAME, svc/NAME or ns/NAME");
  const resource = parseTapResource(text);
  if (!resource.ok) throw new UsageError(`${resource.message} (--by route also takes every Deployment: deploy)`);
  const namespace = namespaceOf(kc, args.kube);
  const body = tapBody(args.values, [], namespace);
  const windowSeconds = seconds(args.values.window, "window");
  const paths = new PathWindow(windowSeconds * 1000);
  const report = () => ({ windowSeconds, sampledAtMostRps: Number(body.maxRps), rows: paths.rows(Date.now(), limit) });
  const stop = new AbortController();
  const once = oneShot(args);
  const timer = once
    ? setTimeout(() => stop.abort(), seconds(args.values.duration, "duration") * 1000)
    : setInterval(() => redraw(out, `busiest paths over the last ${windowSeconds}s, sampled at most ${String(body.maxRps)} requests/s per proxy`, formatTopPaths(report(), args.kube.output)), interval * 1000);
  try {
    const outcome = await streamTap(kc, tapApiPath(namespace, resource.value), body, { event: (e) => paths.add(e, Date.now()) }, { command: "top", signal: stop.signal });
    if (once && outcome.code === EXIT.ok) out(formatTopPaths(report(), args.kube.output));
    return outcome.code;
  } finally {
    clearTimeout(timer);
    clearInterval(timer);
  }
}

export const command: Command = runKubeCommand({
  name: "top",
  summary: "a refreshing table of the busiest paths (from tap) or routes (from Prometheus)",
  usage: USAGE,
  options: {
    ...PROM_OPTIONS,
    by: { type: "string", default: "path" },
    limit: { type: "string", default: "10" },
    interval: { type: "string", default: "2s" },
    once: { type: "boolean", default: false },
    duration: { type: "string", default: "10s" },
    to: { type: "string" },
    method: { type: "string" },
    path: { type: "string" },
    "max-rps": { type: "string" },
  },
  async run(args, kc, out) {
    const limit = Number(args.values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive integer, not "${String(args.values.limit)}"`);
    const interval = /^([1-9][0-9]*)s$/.exec(String(args.values.interval));
    if (!interval?.[1]) throw new UsageError(`--interval must be whole seconds such as 2s, not "${String(args.values.interval)}"`);
    switch (args.values.by) {
      case "path":
        return byPath(args, kc, out, limit, Number(interval[1]));
      case "route":
        return byRoute(args, kc, out, limit, Number(interval[1]));
      default:
        throw new UsageError(`--by takes path or route, not "${String(args.values.by)}"`);
    }
  },
});
