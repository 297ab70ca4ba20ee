// A fresh Kubernetes control plane (and optionally one real node) on loopback for a test
// file: started in a temporary directory, torn down completely afterwards, including when
// the test fails or mocha is interrupted.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { binary, kubernetesBinDir, kubernetesBinariesAvailable, nodeBinariesAvailable } from "./binaries.ts";
import {
  allocatePorts,
  kubeconfigYaml,
  servingCertFile,
  startApiserverProcess,
  startControllerManager,
  startEtcd,
  startScheduler,
  waitForFile,
  waitReady,
  writeCredentials,
  writeServingCert,
  type ControlPlaneFiles,
  type ControlPlanePorts,
} from "./control-plane.ts";
import { killGroupSync, registerEmergencyCleanup, stopProcess, type ManagedProcess } from "./processes.ts";
import { startNode, type NodeHost, type RunningNode } from "./node.ts";
import { pickSubnetPrefix } from "./node-host.ts";
import type { CertFiles } from "./front-proxy-pki.ts";
import { waitFor } from "../support/wait.ts";

export { kubernetesBinariesAvailable, nodeBinariesAvailable } from "./binaries.ts";
// Kept for test/control-plane/discovery-kubernetes.test.ts, which imports it from here.
export { waitFor } from "../support/wait.ts";
export { KUBERNETES_SERVICE_IP } from "./control-plane.ts";

export interface TestCluster {
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  server: string;
  binDir: string;
  /** Name of the real node when started with { node: true }. */
  nodeName?: string;
  /** Its bridge, node IP, cgroup root and containerd socket. */
  nodeHost?: NodeHost;
  /** The apiserver's front-proxy client certificate (how it calls aggregated APIs), as files. */
  frontProxyClient: CertFiles;
  createNamespace(prefix: string, labels?: Record<string, string>): Promise<string>;
  kubeconfigFor(namespace: string, serviceAccount: string): Promise<string>;
  createNode(name: string, labels?: Record<string, string>): Promise<void>;
  createReadyPod(ns: string, pod: V1Pod, podIP: string, nodeName: string): Promise<V1Pod>;
  stopApiserver(): Promise<void>;
  startApiserver(): Promise<void>;
  kubectl(args: string[], opts?: { input?: string }): Promise<{ stdout: string; stderr: string; code: number }>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /**
   * Also start kube-scheduler and one node (kubelet, kube-proxy, containerd, CNI bridge);
   * pods then reach ClusterIP Services and the apiserver (`kubernetes` Service).
   */
  node?: boolean;
}

const NODE_NAME = "node-1";

class Cluster implements TestCluster {
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  server: string;
  binDir = kubernetesBinDir();
  nodeName?: string;
  nodeHost?: NodeHost;
  private files: ControlPlaneFiles;
  private ports: ControlPlanePorts;
  get frontProxyClient(): CertFiles {
    return this.files.frontProxyClient;
  }
  private processes: ManagedProcess[] = [];
  private apiserver?: ManagedProcess;
  private node?: RunningNode;
  private subnetPrefix?: string;
  private advertiseAddress?: string;
  private unregister: () => void;
  private stopped = false;
  private counter = 0;

  constructor(files: ControlPlaneFiles, ports: ControlPlanePorts) {
    this.files = files;
    this.ports = ports;
    this.kubeconfigPath = files.adminKubeconfig;
    this.server = `https://127.0.0.1:${ports.apiserver}`;
    this.kubeConfig = new KubeConfig();
    this.unregister = registerEmergencyCleanup(() => this.abortSync());
  }

  async start(options: ClusterOptions): Promise<void> {
    if (options.node === true) {
      // The node's subnet is chosen first: the apiserver advertises its gateway to pods.
      this.subnetPrefix = pickSubnetPrefix();
      this.advertiseAddress = `${this.subnetPrefix}.1`;
      writeServingCert(this.files, this.advertiseAddress);
    }
    this.processes.push(startEtcd(this.files, this.ports));
    await this.startApiserver();
    writeFileSync(this.files.adminKubeconfig, kubeconfigYaml(this.server, servingCertFile(this.files), "admin", this.files.adminToken));
    this.kubeConfig.loadFromFile(this.files.adminKubeconfig);
    this.processes.push(startControllerManager(this.files, options.node === true));
    if (options.node === true) {
      writeFileSync(
        this.files.kubeletKubeconfig,
        kubeconfigYaml(this.server, servingCertFile(this.files), `system:node:${NODE_NAME}`, this.files.kubeletToken),
      );
      this.processes.push(startScheduler(this.files));
      const nodeOptions = {
        dir: this.files.dir,
        nodeName: NODE_NAME,
        kubeconfig: this.files.kubeletKubeconfig,
        kubeConfig: this.kubeConfig,
        subnetPrefix: this.subnetPrefix,
      };
      await startNode(nodeOptions, (node) => (this.node = node));
      this.nodeName = NODE_NAME;
      this.nodeHost = this.node;
    }
  }

  async startApiserver(): Promise<void> {
    const proc = startApiserverProcess(this.files, this.ports, this.advertiseAddress);
    this.apiserver = proc;
    this.processes.push(proc);
    await waitForFile(servingCertFile(this.files), proc);
    await waitReady(this.server, this.files.adminToken, proc);
  }

  async stopApiserver(): Promise<void> {
    const proc = this.apiserver;
    this.apiserver = undefined;
    await stopProcess(proc, 2000);
    this.processes = this.processes.filter((p) => p !== proc);
  }

  async createNamespace(prefix: string, labels?: Record<string, string>): Promise<string> {
    const name = `${prefix}-${++this.counter}-${randomBytes(3).toString("hex")}`.slice(0, 63);
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name, labels } } });
    // Pods are refused until the ServiceAccount controller has made "default".
    await waitFor(`ServiceAccount default in ${name}`, async () => {
      try {
        await core.readNamespacedServiceAccount({ name: "default", namespace: name });
        return true;
      } catch {
        return false;
      }
    }, { timeoutMs: 60_000, intervalMs: 100 });
    return name;
  }

  async kubeconfigFor(namespace: string, serviceAccount: string): Promise<string> {
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    try {
      await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: serviceAccount } } });
    } catch (err) {
      if (!String(err).includes("409") && !String(err).includes("AlreadyExists")) throw err;
    }
    const tr = await core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace,
      body: { spec: { audiences: ["https://kubernetes.default.svc"], expirationSeconds: 3600 } },
    });
    const token = tr.status?.token;
    if (token === undefined) throw new Error(`no token issued for ${namespace}/${serviceAccount}`);
    const path = join(this.files.dir, `sa-${namespace}-${serviceAccount}.kubeconfig`);
    writeFileSync(path, kubeconfigYaml(this.server, servingCertFile(this.files), `${namespace}-${serviceAccount}`, token), { mode: 0o600 });
    return path;
  }

  async createNode(name: string, labels?: Record<string, string>): Promise<void> {
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNode({ body: { metadata: { name, labels } } });
    // The controller manager updates a new Node too (taints, annotations): on a conflict, read it again and retry.
    for (let attempt = 1; ; attempt++) {
      const node = await core.readNode({ name });
      const now = new Date();
      node.status = {
        conditions: [{ type: "Ready", status: "True", reason: "FakeNode", lastHeartbeatTime: now, lastTransitionTime: now }],
        addresses: [{ type: "InternalIP", address: "192.0.2.1" }],
      };
      try {
        await core.replaceNodeStatus({ name, body: node });
        return;
      } catch (err) {
        if (attempt >= 10 || (err as { code?: number }).code !== 409) throw err;
      }
    }
  }

  async createReadyPod(ns: string, pod: V1Pod, podIP: string, nodeName: string): Promise<V1Pod> {
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    const body: V1Pod = { ...pod, spec: { containers: [], ...pod.spec, nodeName } };
    const created = await core.createNamespacedPod({ namespace: ns, body });
    const now = new Date();
    created.status = {
      ...created.status,
      phase: "Running",
      podIP,
      podIPs: [{ ip: podIP }],
      hostIP: "192.0.2.1",
      startTime: now,
      conditions: [
        { type: "PodScheduled", status: "True", lastTransitionTime: now },
        { type: "Initialized", status: "True", lastTransitionTime: now },
        { type: "ContainersReady", status: "True", lastTransitionTime: now },
        { type: "Ready", status: "True", lastTransitionTime: now },
      ],
    };
    return await core.replaceNamespacedPodStatus({ name: created.metadata?.name ?? "", namespace: ns, body: created });
  }

  kubectl(args: string[], opts?: { input?: string }): Promise<{ stdout: string; stderr: string; code: number }> {
    return new Promise((resolve) => {
      const child = execFile(
        binary("kubectl"),
        ["--kubeconfig", this.kubeconfigPath, ...args],
        { maxBuffer: 64 * 1024 * 1024, timeout: 120000 },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
          resolve({ stdout, stderr, code });
        },
      );
      child.stdin?.end(opts?.input ?? "");
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.node?.stop();
    } finally {
      // Reverse order, so nothing logs errors about what went first; the data is thrown
      // away, so a short grace period is enough.
      for (const proc of [...this.processes].reverse()) await stopProcess(proc, 1000);
      this.processes = [];
      this.unregister();
      rmSync(this.files.dir, { recursive: true, force: true });
    }
  }

  /** Synchronous variant for exit and signal paths: kill everything, then clean up. */
  private abortSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.node?.abortSync();
    for (const proc of [...this.processes].reverse()) killGroupSync(proc);
    rmSync(this.files.dir, { recursive: true, force: true });
  }
}

export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  if (!kubernetesBinariesAvailable()) {
    throw new Error(`Kubernetes binaries missing in ${kubernetesBinDir()}: run test/cluster/build.sh (npm test does)`);
  }
  if (options.node === true && !nodeBinariesAvailable()) {
    throw new Error("node binaries missing (kubelet, kube-scheduler, containerd, runc, /usr/lib/cni): run npm test's prepare step");
  }
  const dir = mkdtempSync(join(tmpdir(), "weft-k8s-"));
  const files = writeCredentials(dir, NODE_NAME);
  const cluster = new Cluster(files, await allocatePorts());
  try {
    await cluster.start(options);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/**
 * Mocha helper: starts a cluster in `before` and stops it in `after`.
 * Call it inside a describe(); use the returned accessor inside tests.
 */
export function useCluster(options: ClusterOptions = {}, startTimeoutMs = 180000): () => TestCluster {
  let cluster: TestCluster | undefined;
  before(async function () {
    this.timeout(startTimeoutMs);
    cluster = await startCluster(options);
  });
  after(async function () {
    this.timeout(120000);
    await cluster?.stop();
    cluster = undefined;
  });
  return () => {
    if (cluster === undefined) throw new Error("test cluster not started (useCluster's before hook failed or has not run)");
    return cluster;
  };
}
