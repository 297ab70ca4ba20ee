// `weft proxy-config <pod> [endpoints|routes|policy|certs|bootstrap]`: what one
// proxy holds right now, read from its loopback-only /proxy-config/* pages over
// pods/portforward (proxy-admin-access.ts).
import type { Command } from "./command.ts";
import { runKubeCommand } from "./kube-command.ts";
import { KUBE_USAGE, namespaceOf } from "./kube-flags.ts";
import { adminPortOf, resolvePod } from "./kube-pods.ts";
import { parseResource } from "./kube-resource.ts";
import { kubeAdminReader } from "./proxy-admin-access.ts";
import { formatProxyConfig, SECTIONS, type ProxyConfigPages, type Section } from "./proxy-config-format.ts";
import { UsageError } from "./exit-codes.ts";

const USAGE = `usage: weft proxy-config (POD | pod/NAME | deploy/NAME) [${SECTIONS.join("|")}] ${KUBE_USAGE}`;

export const command: Command = runKubeCommand({
  name: "proxy-config",
  summary: "shows what one proxy holds: endpoints with balancer state, routes, policy, certificates, bootstrap",
  usage: USAGE,
  async run({ kube, positionals }, kc, out) {
    const [target, which, ...extra] = positionals;
    if (target === undefined || extra.length > 0) throw new UsageError("takes a pod and at most one section");
    if (which !== undefined && !(SECTIONS as readonly string[]).includes(which)) throw new UsageError(`unknown section "${which}"`);
    const ref = parseResource(target);
    if (!ref.ok) throw new UsageError(ref.message);
    const namespace = namespaceOf(kc, kube);
    const pod = await resolvePod(kc, namespace, ref.value);
    const name = pod.metadata?.name ?? ref.value.name;
    const reader = kubeAdminReader(kc);
    const port = adminPortOf(pod);
    const wanted: readonly Section[] = which === undefined ? SECTIONS : [which as Section];
    const pages: ProxyConfigPages = { pod: `${namespace}/${name}` };
    for (const s of wanted) {
      const body = JSON.parse(await reader.loopbackGet(namespace, name, port, `/proxy-config/${s}`)) as never;
      pages[s] = body;
    }
    out(formatProxyConfig(pages, kube.output));
    return 0;
  },
});
