// One real node for a test cluster: containerd (Debian's, with runc), a CNI bridge from
// Debian's plugins, a kubelet, kube-proxy and cluster DNS (CoreDNS as kube-dns, when
// test/conformance/build.sh has built it). Stopping it undoes everything it did to the host.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { AppsV1Api, CoreV1Api, KubernetesObjectApi, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { binary } from "./binaries.ts";
import { COREDNS_NAMESPACE, corednsObjects } from "./coredns.ts";
import { cniConflist, containerdConfig, gatewayIP, kubeletConfig, networkName, type NodeLayout } from "./node-config.ts";
import {
  createBridge,
  createCgroupRoot,
  deleteBridge,
  deleteNetns,
  iptablesChains,
  killPids,
  netnsInodes,
  pickSubnetPrefix,
  pidsInCgroupRoot,
  pidsMentioning,
  raiseInotifyLimits,
  removeCgroupRoot,
  removeCniCache,
  removeNewChains,
  unmountBelow,
} from "./node-host.ts";
import { isRunning, killGroupSync, logTail, startProcess, stopProcess, type ManagedProcess } from "./processes.ts";
import { PAUSE_IMAGE, testImageArchives } from "./test-images.ts";
import { conformanceImageArchive } from "../conformance/images.ts";
import { COREDNS_IMAGE, componentBuilt } from "../conformance/paths.ts";
import { freePorts } from "../support/ports.ts";
import { StopWaiting, waitFor } from "../support/wait.ts";

const HOST_CNI_PLUGINS = "/usr/lib/cni";

/** A bin dir of this node's own holding a symlink to each of the host's CNI plugins. */
function linkHostCniPlugins(binDir: string): void {
  mkdirSync(binDir, { recursive: true });
  for (const name of readdirSync(HOST_CNI_PLUGINS)) symlinkSync(join(HOST_CNI_PLUGINS, name), join(binDir, name));
}

export interface NodeOptions {
  dir: string;
  nodeName: string;
  kubeconfig: string;
  kubeConfig: KubeConfig;
  /** The bridge subnet's first three octets; picked here when absent. */
  subnetPrefix?: string;
}

/** What the node occupies on the host, for tests that check it is given back. */
export interface NodeHost {
  /** The bridge's gateway address: the node's InternalIP, reachable from pods. */
  nodeIP: string;
  containerdSocket: string;
  bridge: string;
  cgroupRoot: string;
  /** The node's CNI conf dir (containerd reads its first .conflist) and bin dir (see NodeLayout.cniBinDir). */
  cniConfDir: string;
  cniBinDir: string;
  /** Whether CoreDNS runs as the kube-dns Service (the kubelet's clusterDNS) and was Ready at start. */
  clusterDns: boolean;
}

/**
 * The conformance run's images (the suite's echo-advanced and CoreDNS) are imported into
 * every node when they are built, so cluster DNS and the suite need nothing more.
 */
function clusterDnsBuilt(): boolean {
  return componentBuilt("coredns") && componentBuilt("echo");
}

export interface RunningNode extends NodeHost {
  stop(): Promise<void>;
  abortSync(): void;
}

async function layoutFor(options: NodeOptions): Promise<NodeLayout> {
  const id = randomBytes(3).toString("hex");
  const dir = join(options.dir, "node");
  const [kubeletPort, kubeletHealthzPort] = (await freePorts(2)) as [number, number];
  return {
    dir,
    nodeName: options.nodeName,
    id,
    bridge: `weft${id}`,
    subnetPrefix: options.subnetPrefix ?? pickSubnetPrefix(),
    containerdSocket: join(dir, "containerd.sock"),
    cniConfDir: join(dir, "cni"),
    cniBinDir: join(dir, "cni-bin"),
    cgroupRoot: `/weft-${id}`,
    kubeletPort,
    kubeletHealthzPort,
    pauseImage: PAUSE_IMAGE,
  };
}

class Node implements RunningNode {
  nodeIP: string;
  containerdSocket: string;
  bridge: string;
  cgroupRoot: string;
  cniConfDir: string;
  cniBinDir: string;
  clusterDns = false;
  private layout: NodeLayout;
  private containerd?: ManagedProcess;
  private kubelet?: ManagedProcess;
  private kubeProxy?: ManagedProcess;
  private chainsBefore = { v4: iptablesChains("iptables"), v6: iptablesChains("ip6tables") };
  private torn = false;

  constructor(layout: NodeLayout) {
    this.layout = layout;
    this.nodeIP = gatewayIP(layout);
    this.containerdSocket = layout.containerdSocket;
    this.bridge = layout.bridge;
    this.cgroupRoot = layout.cgroupRoot;
    this.cniConfDir = layout.cniConfDir;
    this.cniBinDir = layout.cniBinDir;
  }

  async start(options: NodeOptions): Promise<void> {
    const l = this.layout;
    mkdirSync(l.cniConfDir, { recursive: true });
    linkHostCniPlugins(l.cniBinDir);
    mkdirSync(join(l.dir, "pod-logs"), { recursive: true });
    raiseInotifyLimits();
    // The kubelet checks that its node IP is on a host interface, so the bridge exists first.
    createBridge(l.bridge, gatewayIP(l));
    createCgroupRoot(l.cgroupRoot);
    writeFileSync(join(l.dir, "containerd.toml"), containerdConfig(l));
    writeFileSync(join(l.cniConfDir, "10-weft.conflist"), cniConflist(l));
    writeFileSync(join(l.dir, "kubelet.yaml"), kubeletConfig(l));

    this.containerd = startProcess("containerd", "containerd", ["--config", join(l.dir, "containerd.toml")], join(l.dir, "containerd.log"));
    const ctr = (args: string[]): Buffer => execFileSync("ctr", ["-a", l.containerdSocket, "-n", "k8s.io", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    await waitFor("containerd to answer", () => {
      if (!isRunning(this.containerd)) throw new StopWaiting(`containerd exited:\n${this.containerd ? logTail(this.containerd) : ""}`);
      ctr(["version"]);
      return true;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    const dns = clusterDnsBuilt();
    for (const archive of [...testImageArchives(), ...(dns ? [conformanceImageArchive()] : [])]) ctr(["images", "import", archive]);

    this.kubelet = startProcess("kubelet", binary("kubelet"), [
      "--config", join(l.dir, "kubelet.yaml"),
      "--kubeconfig", options.kubeconfig,
      "--hostname-override", l.nodeName,
      "--root-dir", join(l.dir, "kubelet"),
      "--cert-dir", join(l.dir, "kubelet-pki"),
      "--node-ip", gatewayIP(l),
      "--v", "1",
    ], join(l.dir, "kubelet.log"));
    const core = options.kubeConfig.makeApiClient(CoreV1Api);
    await waitFor("the node to be Ready", async () => {
      if (!isRunning(this.kubelet)) throw new StopWaiting(`kubelet exited:\n${this.kubelet ? logTail(this.kubelet) : ""}`);
      const node = await core.readNode({ name: l.nodeName });
      const ready = node.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
      const tainted = (node.spec?.taints ?? []).some((t) => t.key === "node.kubernetes.io/not-ready");
      return ready && !tainted;
    }, { timeoutMs: 120_000, intervalMs: 250 });
    // CoreDNS is applied once the node is Ready (its pod has somewhere to run) and becomes
    // ready once kube-proxy routes it to the apiserver: both are awaited together.
    const clusterDnsReady = dns ? this.startClusterDns(options.kubeConfig) : Promise.resolve();
    clusterDnsReady.catch(() => undefined); // awaited below; not unhandled if kube-proxy fails first
    const proxyPorts = (await freePorts(2)) as [number, number];
    this.kubeProxy = startProcess("kube-proxy", binary("kube-proxy"), kubeProxyArgs(l, options.kubeconfig, proxyPorts), join(l.dir, "kube-proxy.log"));
    // Its iptables rules exist once the `kubernetes` Service's chain is written.
    await waitFor("kube-proxy to sync its rules", () => {
      if (!isRunning(this.kubeProxy)) throw new StopWaiting(`kube-proxy exited:\n${this.kubeProxy ? logTail(this.kubeProxy) : ""}`);
      return iptablesChains("iptables").get("nat")?.has("KUBE-SERVICES") === true &&
        execFileSync("iptables", ["-t", "nat", "-S", "KUBE-SERVICES"], { encoding: "utf8" }).includes("default/kubernetes:https");
    }, { timeoutMs: 60_000, intervalMs: 250 });
    await clusterDnsReady;
    this.clusterDns = dns;
  }

  /** The kube-dns add-on (test/cluster/coredns.ts), created through the API; resolves when CoreDNS is ready. */
  private async startClusterDns(kubeConfig: KubeConfig): Promise<void> {
    const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    for (const object of corednsObjects({ image: COREDNS_IMAGE })) await objects.create(object as KubernetesObject);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    await waitFor("CoreDNS to be ready (the kube-dns Service)", async () => {
      if (!isRunning(this.kubelet)) throw new StopWaiting(`kubelet exited:\n${this.kubelet ? logTail(this.kubelet) : ""}`);
      const d = await apps.readNamespacedDeployment({ name: "coredns", namespace: COREDNS_NAMESPACE });
      return (d.status?.readyReplicas ?? 0) >= 1;
    }, { timeoutMs: 120_000, intervalMs: 250 });
  }

  async stop(): Promise<void> {
    if (this.torn) return;
    // The kubelet goes first so that it does not restart what is being killed; kube-proxy
    // before the chains it would otherwise rewrite are removed.
    await stopProcess(this.kubelet, 5000);
    await stopProcess(this.kubeProxy, 2000);
    this.teardownSync();
  }

  abortSync(): void {
    if (this.torn) return;
    killGroupSync(this.kubelet);
    killGroupSync(this.kubeProxy);
    this.teardownSync();
  }

  private teardownSync(): void {
    this.torn = true;
    const l = this.layout;
    // Containers live in the kubelet's cgroup root; their shims name our socket.
    const containerPids = pidsInCgroupRoot(l.cgroupRoot);
    const namespaces = netnsInodes(containerPids);
    killPids(containerPids);
    killPids(pidsMentioning(l.containerdSocket));
    killGroupSync(this.containerd);
    deleteNetns(namespaces);
    deleteBridge(l.bridge);
    unmountBelow(l.dir);
    removeCgroupRoot(l.cgroupRoot);
    removeNewChains("iptables", this.chainsBefore.v4);
    removeNewChains("ip6tables", this.chainsBefore.v6);
    removeCniCache(networkName(l));
  }
}

/**
 * kube-proxy in iptables mode for the node's pod subnet. Flags that would change host-wide
 * settings (conntrack table size and timeouts, route_localnet for localhost NodePorts) are
 * off, and NodePorts answer only on the bridge's gateway.
 */
function kubeProxyArgs(l: NodeLayout, kubeconfig: string, [metricsPort, healthzPort]: readonly [number, number]): string[] {
  return [
    "--kubeconfig", kubeconfig,
    "--hostname-override", l.nodeName,
    "--bind-address", "127.0.0.1",
    "--cluster-cidr", `${l.subnetPrefix}.0/24`,
    "--proxy-mode", "iptables",
    "--metrics-bind-address", `127.0.0.1:${metricsPort}`,
    "--healthz-bind-address", `127.0.0.1:${healthzPort}`,
    "--conntrack-max-per-core", "0",
    "--conntrack-tcp-timeout-established", "0",
    "--conntrack-tcp-timeout-close-wait", "0",
    "--iptables-localhost-nodeports=false",
    "--nodeport-addresses", `${l.subnetPrefix}.0/24`,
    "--v", "1",
  ];
}

/** `created` hears of the node before it starts, so an interrupt mid-start still tears it down. */
export async function startNode(options: NodeOptions, created: (node: RunningNode) => void): Promise<RunningNode> {
  const node = new Node(await layoutFor(options));
  created(node);
  try {
    await node.start(options);
  } catch (err) {
    node.abortSync();
    throw err;
  }
  return node;
}
