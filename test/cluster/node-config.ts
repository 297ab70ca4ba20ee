// Configuration files of a test node (containerd, CNI, kubelet), as pure functions of
// the node's layout so that several test nodes can coexist on one machine: each has its
// own socket, state folders, bridge, subnet, cgroup root and ports.

import { SERVICE_CIDR } from "./control-plane.ts";
import { DEFAULT_DNS_CLUSTER_IP } from "./coredns.ts";

export interface NodeLayout {
  dir: string;
  nodeName: string;
  /** Short unique id, used in the bridge, network and cgroup names. */
  id: string;
  bridge: string;
  /** The /24 subnet's first three octets, e.g. "10.231.17". */
  subnetPrefix: string;
  containerdSocket: string;
  cniConfDir: string;
  /**
   * The node's CNI bin dir: symlinks to the host's plugins (/usr/lib/cni) in a
   * folder of this node's own, so a test that installs a plugin (weft-cni)
   * never writes into the host's folder.
   */
  cniBinDir: string;
  cgroupRoot: string;
  kubeletPort: number;
  kubeletHealthzPort: number;
  pauseImage: string;
}

export function gatewayIP(layout: NodeLayout): string {
  return `${layout.subnetPrefix}.1`;
}

export function networkName(layout: NodeLayout): string {
  return `weft-${layout.id}`;
}

export function containerdConfig(layout: NodeLayout): string {
  const d = layout.dir;
  return `version = 2
root = "${d}/containerd/root"
state = "${d}/containerd/state"

[grpc]
  address = "${layout.containerdSocket}"

[ttrpc]
  address = "${layout.containerdSocket}.ttrpc"

[debug]
  level = "warn"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${d}/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${layout.pauseImage}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${d}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${layout.cniBinDir}"
    conf_dir = "${layout.cniConfDir}"
    max_conf_num = 1
`;
}

export function cniConflist(layout: NodeLayout): string {
  return JSON.stringify(
    {
      cniVersion: "0.4.0",
      name: networkName(layout),
      plugins: [
        {
          type: "bridge",
          bridge: layout.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            dataDir: `${layout.dir}/cni-ipam`,
            ranges: [[{ subnet: `${layout.subnetPrefix}.0/24`, gateway: gatewayIP(layout) }]],
            // Only the Service range goes through the gateway (to kube-proxy's rules):
            // no default route, so nothing a pod sends can leave the machine.
            routes: [{ dst: SERVICE_CIDR }],
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
        { type: "loopback" },
      ],
    },
    null,
    2,
  );
}

export function kubeletConfig(layout: NodeLayout): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${gatewayIP(layout)}
port: ${layout.kubeletPort}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${layout.kubeletHealthzPort}
cgroupDriver: cgroupfs
cgroupRoot: ${layout.cgroupRoot}
failSwapOn: false
failCgroupV1: false
containerRuntimeEndpoint: unix://${layout.containerdSocket}
imageServiceEndpoint: unix://${layout.containerdSocket}
podLogsDirectory: ${layout.dir}/pod-logs
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
localStorageCapacityIsolation: false
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
serializeImagePulls: false
maxPods: 60
nodeStatusUpdateFrequency: 2s
syncFrequency: 5s
fileCheckFrequency: 5s
resolvConf: ""
clusterDomain: cluster.local
# The kube-dns Service (test/cluster/coredns.ts), applied once the node is Ready: pods
# get it as their nameserver with their namespace's search path, as on a real cluster.
clusterDNS:
- ${DEFAULT_DNS_CLUSTER_IP}
`;
}
