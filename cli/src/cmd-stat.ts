// `weft stat <resource>`: per Deployment, pod, namespace or Service, the meshed/total
// pods, success rate, requests per second, latency percentiles and the share of mTLS
// traffic over --window, from Prometheus (the PromQL is in docs/metrics.md).
import type { Command } from "./command.ts";
import { EXIT, UsageError } from "./exit-codes.ts";
import { runKubeCommand } from "./kube-command.ts";
import { KUBE_USAGE } from "./kube-flags.ts";
import { listPodFacts } from "./prom-access.ts";
import { PROM_OPTIONS, PROM_USAGE, querierOf, runQueries, targetOf, windowOf } from "./prom-command.ts";
import { parsePeer, statQueries, type Peer } from "./prom-queries.ts";
import { formatStat, statRows, type PodFact } from "./prom-rows.ts";
import { resolveDeploymentPeer } from "./stat-peer.ts";

const USAGE = `usage: weft stat <deploy|deploy/NAME|pod/NAME|svc/NAME|ns/NAME> [-A] ${KUBE_USAGE} ${PROM_USAGE} [--from deploy/NAME|sa/NAME|ns/NAME] [--to deploy/NAME|svc/NAME|sa/NAME|ns/NAME] [--no-pods]
  inbound traffic of the selected pods (--from: only from that caller); with --to, what they sent to it.
  svc/NAME: what meshed callers sent to the Service.`;

export const command: Command = runKubeCommand({
  name: "stat",
  summary: "success rate, requests per second, latency and mTLS share per workload, pod, namespace or Service",
  usage: USAGE,
  options: { ...PROM_OPTIONS, from: { type: "string" }, to: { type: "string" }, "no-pods": { type: "boolean", default: false } },
  async run(args, kc, out) {
    const { target, namespace } = targetOf(args, kc);
    const window = windowOf(args.values);
    const peer = async (flag: "from" | "to"): Promise<Peer | undefined> => {
      const v = args.values[flag];
      if (typeof v !== "string") return undefined;
      const p = parsePeer(v, namespace);
      if (!p.ok) throw new UsageError(`--${flag}: ${p.message}`);
      if (flag === "from" && p.value.kind === "service") throw new UsageError("--from takes deploy/NAME, sa/NAME or ns/NAME (a caller is an identity, not a Service)");
      if (p.value.kind !== "deployment") return p.value;
      const resolved = await resolveDeploymentPeer(kc, p.value);
      if (resolved.warning) console.error(`weft stat: --${flag}: ${resolved.warning}`);
      return resolved.peer;
    };
    const from = await peer("from");
    const to = await peer("to");
    if (to && target.kind === "service") throw new UsageError("--to does not apply to svc/NAME: it already selects the callee");
    const answers = await runQueries(await querierOf(kc, args.values), statQueries(target, window, from, to));
    // Total pods come from the Kubernetes API; --no-pods (or a Service target) skips it.
    let pods: PodFact[] | null = null;
    if (args.values["no-pods"] !== true && target.kind !== "service") {
      try {
        pods = await listPodFacts(kc, target.namespace);
      } catch (err) {
        // Prometheus answered; only the pod count is missing (no cluster beside --prometheus-url, or no list right).
        console.error(`weft stat: total pods unknown (listing pods failed: ${(err instanceof Error ? err.message : String(err)).split("\n")[0] ?? ""}); use --no-pods to skip`);
      }
    }
    out(formatStat({ window, rows: statRows(target, answers, pods) }, args.kube.output));
    return EXIT.ok;
  },
});
