// `weft edges <resource>`: who talks to whom over --window, with both SPIFFE ids and
// whether the edge was mTLS, from Prometheus (the PromQL is in docs/metrics.md).
import type { Command } from "./command.ts";
import { EXIT, UsageError } from "./exit-codes.ts";
import { runKubeCommand } from "./kube-command.ts";
import { KUBE_USAGE } from "./kube-flags.ts";
import { PROM_OPTIONS, PROM_USAGE, querierOf, runQueries, targetOf, windowOf } from "./prom-command.ts";
import { edgeQueries } from "./prom-queries.ts";
import { edgeRows, formatEdges } from "./prom-rows.ts";

const USAGE = `usage: weft edges <deploy|deploy/NAME|pod/NAME|ns/NAME> [-A] ${KUBE_USAGE} ${PROM_USAGE} [--trust-domain cluster.local]
  every edge with the selected pods at either end`;

export const command: Command = runKubeCommand({
  name: "edges",
  summary: "who talks to whom: both workloads, both SPIFFE ids, whether mTLS",
  usage: USAGE,
  options: { ...PROM_OPTIONS, "trust-domain": { type: "string", default: "cluster.local" } },
  async run(args, kc, out) {
    const { target } = targetOf(args, kc);
    if (target.kind === "service") throw new UsageError("edges are between workloads: give deploy, pod or ns");
    const window = windowOf(args.values);
    const answers = await runQueries(await querierOf(kc, args.values), edgeQueries(window));
    out(formatEdges({ window, rows: edgeRows(target, answers, String(args.values["trust-domain"])) }, args.kube.output));
    return EXIT.ok;
  },
});
