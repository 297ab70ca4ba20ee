// `weft version [--client]`: the CLI's version, and (unless --client) the
// control plane's and the meshed proxies' as the cluster runs them.
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { LABELS } from "../../lib/proxy-contract.ts";
import { WEFT_VERSION } from "../../lib/weft-version.ts";
import type { Command } from "./command.ts";
import { EXIT } from "./exit-codes.ts";
import { runKubeCommand } from "./kube-command.ts";
import { KUBE_USAGE } from "./kube-flags.ts";
import { isRunning, proxyContainer, proxyVersionOf } from "./kube-pods.ts";
import { countVersions, formatVersion, type VersionReport } from "./version-report.ts";

const USAGE = `usage: weft version [--client] ${KUBE_USAGE} [--control-plane-namespace weft-system]`;

const first = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";

function tagOf(image: string): string {
  const at = image.lastIndexOf(":");
  return at > image.lastIndexOf("/") ? image.slice(at + 1) : "latest";
}

export const command: Command = runKubeCommand({
  name: "version",
  summary: "prints the CLI's, the control plane's and the proxies' versions",
  usage: USAGE,
  options: { client: { type: "boolean", default: false }, "control-plane-namespace": { type: "string", default: "weft-system" } },
  async run({ kube, values }, kc, out) {
    const report: VersionReport = { client: WEFT_VERSION };
    if (values.client === true) {
      out(formatVersion(report, kube.output));
      return EXIT.ok;
    }
    try {
      const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: "weft-control-plane", namespace: String(values["control-plane-namespace"]) });
      const image = d.spec?.template.spec?.containers.find((c) => c.name === "control-plane")?.image ?? "";
      report.controlPlane = { version: tagOf(image) };
    } catch (err) {
      report.controlPlane = { error: first(err) };
    }
    try {
      const pods = (await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces({ labelSelector: LABELS.meshed })).items;
      report.proxies = countVersions(pods.filter((p) => isRunning(p) && proxyContainer(p) !== undefined).map(proxyVersionOf));
    } catch (err) {
      report.proxies = { error: first(err) };
    }
    out(formatVersion(report, kube.output));
    return "error" in report.controlPlane || "error" in report.proxies ? EXIT.error : EXIT.ok;
  },
});
