// `weft proxy-status`: every meshed proxy, the snapshot version it ACKed
// against its group's current one on the control plane, its certificate's
// expiry and its version. Exit 4 when any proxy is not in sync (exit-codes.ts).
import type { Command } from "./command.ts";
import { EXIT, UsageError } from "./exit-codes.ts";
import { runKubeCommand } from "./kube-command.ts";
import { KUBE_USAGE } from "./kube-flags.ts";
import { kubeAdminReader } from "./proxy-admin-access.ts";
import { gatherProxyStatus } from "./proxy-status-gather.ts";
import { allInSync, formatProxyStatus } from "./proxy-status-rows.ts";

const USAGE = `usage: weft proxy-status [-A] ${KUBE_USAGE} [--control-plane-namespace weft-system]\n  all namespaces unless -n is given`;

export const command: Command = runKubeCommand({
  name: "proxy-status",
  summary: "lists every meshed proxy: ACKed vs current snapshot version, certificate expiry, version",
  usage: USAGE,
  options: { "control-plane-namespace": { type: "string", default: "weft-system" } },
  async run({ kube, positionals, values }, kc, out) {
    if (positionals.length > 0) throw new UsageError("takes no arguments");
    const report = await gatherProxyStatus(kc, kubeAdminReader(kc), {
      namespace: kube.allNamespaces ? undefined : kube.namespace,
      controlPlaneNamespace: String(values["control-plane-namespace"]),
    });
    out(formatProxyStatus(report, kube.output));
    return allInSync(report) ? EXIT.ok : EXIT.notInSync;
  },
});
