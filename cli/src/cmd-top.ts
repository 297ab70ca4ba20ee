// `weft top <resource>`: a refreshing table of the busiest traffic of the selected pods,
// by workload, direction, Service and route, from Prometheus. Paths are not metric labels
// (bounded cardinality), so this is the route/Service level; -o json|yaml or --once print
// one snapshot and exit.
import type { Command } from "./command.ts";
import { EXIT, UsageError } from "./exit-codes.ts";
import { runKubeCommand } from "./kube-command.ts";
import { KUBE_USAGE } from "./kube-flags.ts";
import { PROM_OPTIONS, PROM_USAGE, querierOf, runQueries, targetOf, windowOf } from "./prom-command.ts";
import { topQueries } from "./prom-queries.ts";
import { formatTop, topRows } from "./prom-rows.ts";

const USAGE = `usage: weft top <deploy|deploy/NAME|pod/NAME|svc/NAME|ns/NAME> [-A] ${KUBE_USAGE} ${PROM_USAGE} [--limit 10] [--interval 2s] [--once]`;

export const command: Command = runKubeCommand({
  name: "top",
  summary: "a refreshing table of the busiest workload/Service/route traffic",
  usage: USAGE,
  options: { ...PROM_OPTIONS, limit: { type: "string", default: "10" }, interval: { type: "string", default: "2s" }, once: { type: "boolean", default: false } },
  async run(args, kc, out) {
    const { target } = targetOf(args, kc);
    const window = windowOf(args.values);
    const limit = Number(args.values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive integer, not "${String(args.values.limit)}"`);
    const interval = /^([1-9][0-9]*)s$/.exec(String(args.values.interval));
    if (!interval?.[1]) throw new UsageError(`--interval must be whole seconds such as 2s, not "${String(args.values.interval)}"`);
    const prom = await querierOf(kc, args.values);
    const queries = topQueries(target, window, limit);
    const snapshot = async (): Promise<string> => formatTop({ window, rows: topRows(await runQueries(prom, queries), limit) }, args.kube.output);
    const once = args.values.once === true || args.kube.output === "json" || args.kube.output === "yaml" || !process.stdout.isTTY;
    if (once) {
      out(await snapshot());
      return EXIT.ok;
    }
    for (;;) {
      const text = await snapshot();
      // Home and clear, then the table: the terminal shows one refreshing view, as top does.
      out(`\x1b[H\x1b[2J${new Date().toISOString()}  busiest traffic over the last ${window} (Ctrl-C to stop)\n\n${text}`);
      await new Promise((r) => setTimeout(r, Number(interval[1]) * 1000));
    }
  },
});
