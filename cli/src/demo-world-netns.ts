// The demo in network namespaces (see local-netns.ts for the design): a hub
// namespace with the control plane on the bridge, and per service a namespace
// with capture rules, the app (unmodified, dialling ClusterIPs), its sidecar
// as the proxy UID, and a relay so this process can reach the admin port and
// the app through unix sockets. Addresses: the hub .1, services from .10.
import { DEFAULT_PROXY_PORTS } from "../../lib/proxy-contract.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { DEMO_NAMESPACE, netnsAppArgs, netnsAppPort, registryYaml, type DemoWorkload } from "./demo-topology.ts";
import type { DemoWorld, WorldOptions } from "./demo-world.ts";
import { LocalNetns, PROXY_UID, SidecarFiles, sweepStale } from "./local-netns.ts";
import { inNamespace, SUBNET_PREFIX, type HubPlan, type WorkloadNetPlan } from "./local-netns-plan.ts";
import { projectModule } from "./local-processes.ts";

export async function netnsWorld(o: WorldOptions, say: (line: string) => void): Promise<Result<DemoWorld>> {
  const swept = await sweepStale();
  if (swept.length > 0) say(`removed namespaces left by a previous run that was killed: ${swept.join(", ")}`);
  const net = new LocalNetns();
  const files = new SidecarFiles();
  const fails = async (r: { code: string; message: string }): Promise<Result<DemoWorld>> => {
    await net.destroy();
    files.remove();
    return fail(r.code, r.message);
  };
  const hubR = net.createHub();
  if (!hubR.ok) return fails(hubR);
  const hub: HubPlan = hubR.value;
  const address = new Map(o.workloads.map((w, i) => [w.name, `${SUBNET_PREFIX}.${10 + i}`]));
  const made = await Promise.all(o.workloads.map((w) => net.addWorkload(hub, w.name, address.get(w.name)!)));
  const bad = made.find((r) => !r.ok);
  if (bad && !bad.ok) return fails(bad);
  const ns = new Map<string, WorkloadNetPlan>(made.map((r, i) => [o.workloads[i]!.name, (r as { value: WorkloadNetPlan }).value]));
  const anchors = files.anchors(o.anchors);
  const node = process.execPath;

  const world: DemoWorld = {
    mode: "netns",
    intro: [
      `network-namespace mode (${o.why}): each service runs in its own network namespace with iptables capture; apps call ClusterIPs and know nothing of the mesh`,
      `namespaces: ${hub.ns} (control plane on bridge ${hub.address}), ${o.workloads.map((w) => `${ns.get(w.name)!.ns} (${address.get(w.name)})`).join(", ")}`,
      `watch the wire: ip netns exec ${hub.ns} tcpdump -ni weft0 -A tcp`,
    ],
    registryYaml: registryYaml(o.workloads, (w) => ({ address: address.get(w.name)!, port: netnsAppPort(w) })),
    controlPlaneHost: hub.address,
    startControlPlane(children, args, onLine) {
      children.startProgram("control plane", inNamespace(hub.ns, node, args), {}, onLine);
    },
    startWorkload(children, w: DemoWorkload, cp, token) {
      const n = ns.get(w.name)!.ns;
      const tokenFile = files.token(w.name, token);
      children.startProgram(`${w.name} relay`, inNamespace(n, node, [
        projectModule("cli/src/local-netns-relay"),
        `${files.socket(`${w.name}-admin`)}=127.0.0.1:${DEFAULT_PROXY_PORTS.admin}`,
        `${files.socket(`${w.name}-app`)}=127.0.0.1:${netnsAppPort(w)}`,
      ]));
      children.startProgram(`${w.name} app`, inNamespace(n, node, [projectModule(`cli/src/demo-apps/${w.app}`), ...netnsAppArgs(w, o.workloads)]));
      children.startProgram(`${w.name} sidecar`, inNamespace(n, node, [
        projectModule("sidecar/src/main"), "--control-plane", `${hub.address}:${cp.identityPort}`, "--identity-token-file", tokenFile,
        "--trust-anchors", anchors, "--workload", `${w.name}-0`, "--log-level", "warn",
      ], PROXY_UID), { WEFT_POD_NAMESPACE: DEMO_NAMESPACE, WEFT_SERVICE_ACCOUNT: w.name, WEFT_DISCOVERY_ADDRESS: `${hub.address}:${cp.discoveryPort}` });
    },
    admin: (name) => ({ socketPath: files.socket(`${name}-admin`) }),
    app: (name) => ({ socketPath: files.socket(`${name}-app`) }),
    async close() {
      await net.destroy();
      files.remove();
    },
    details: () => ({ hub: hub.ns, namespaces: [hub.ns, ...[...ns.values()].map((w) => w.ns)], addresses: Object.fromEntries(address) }),
  };
  return ok(world);
}
