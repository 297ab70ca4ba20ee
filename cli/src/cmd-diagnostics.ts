// `weft diagnostics <pod> [--out DIR]`: a directory to attach to a bug report
// with the proxy's logs (current and previous container), its /metrics, its
// /proxy-config/* pages and the pod's spec and status. Every part is read
// through the apiserver with the user's RBAC; a part that cannot be read is
// recorded in errors.txt rather than ending the bundle. The bootstrap page is
// already redacted by the proxy; nothing here reads a Secret.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { CONTAINER_NAMES } from "../../lib/proxy-contract.ts";
import type { Command } from "./command.ts";
import { EXIT, UsageError } from "./exit-codes.ts";
import { runKubeCommand } from "./kube-command.ts";
import { KUBE_USAGE, namespaceOf } from "./kube-flags.ts";
import { adminPortOf, resolvePod } from "./kube-pods.ts";
import { parseResource } from "./kube-resource.ts";
import { kubeAdminReader } from "./proxy-admin-access.ts";

const USAGE = `usage: weft diagnostics (POD | pod/NAME | deploy/NAME) [--out DIR] ${KUBE_USAGE}`;
const PAGES = ["endpoints", "policy", "certs", "bootstrap"] as const;

export const command: Command = runKubeCommand({
  name: "diagnostics",
  summary: "writes a bug-report bundle (logs, metrics, proxy-config, pod) of one proxy to a directory",
  usage: USAGE,
  options: { out: { type: "string" } },
  async run({ kube, positionals, values }, kc, out) {
    const [target, ...extra] = positionals;
    if (target === undefined || extra.length > 0) throw new UsageError("takes one pod");
    const ref = parseResource(target);
    if (!ref.ok) throw new UsageError(ref.message);
    const namespace = namespaceOf(kc, kube);
    const pod = await resolvePod(kc, namespace, ref.value);
    const name = pod.metadata?.name ?? ref.value.name;
    const dir = typeof values.out === "string" ? values.out : `weft-diagnostics-${namespace}-${name}-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    await mkdir(dir, { recursive: true });
    const core = kc.makeApiClient(CoreV1Api);
    const reader = kubeAdminReader(kc);
    const port = adminPortOf(pod);
    const errors: string[] = [];
    const part = async (file: string, read: () => Promise<string>): Promise<void> => {
      try {
        await writeFile(join(dir, file), await read());
      } catch (err) {
        errors.push(`${file}: ${(err instanceof Error ? err.message : String(err)).split("\n")[0] ?? ""}`);
      }
    };
    // managedFields are noise in a bug report.
    await part("pod.yaml", async () => stringify({ ...pod, metadata: { ...pod.metadata, managedFields: undefined } }, { lineWidth: 0 }));
    await part("proxy.log", () => core.readNamespacedPodLog({ name, namespace, container: CONTAINER_NAMES.proxy, tailLines: 5000 }));
    await part("proxy.previous.log", () => core.readNamespacedPodLog({ name, namespace, container: CONTAINER_NAMES.proxy, previous: true, tailLines: 5000 }));
    await part("metrics.txt", () => reader.proxyGet(namespace, name, port, "/metrics"));
    for (const page of PAGES) await part(`proxy-config-${page}.json`, () => reader.loopbackGet(namespace, name, port, `/proxy-config/${page}`));
    if (errors.length > 0) await writeFile(join(dir, "errors.txt"), errors.join("\n") + "\n");
    out(`wrote ${dir}${errors.length > 0 ? ` (${errors.length} part(s) could not be read: see errors.txt)` : ""}\n`);
    return EXIT.ok;
  },
});
