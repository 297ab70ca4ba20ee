import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { get } from "node:http";
import { dirname, join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { waitFor } from "../support/wait.ts";
import { KUBERNETES_SERVICE_IP, kubernetesBinariesAvailable, nodeBinariesAvailable, startCluster, type TestCluster } from "./cluster.ts";
import { iptablesChains, netnsInodes, pidsInCgroupRoot, pidsMentioning } from "./node-host.ts";
import { BUSYBOX_IMAGE } from "./test-images.ts";

interface HostState {
  links: string[];
  netns: string[];
  cgroups: string[];
  chains: string[];
}

function hostState(): HostState {
  const chains = [...iptablesChains("iptables")].flatMap(([t, names]) => [...names].map((n) => `v4 ${t} ${n}`));
  const chains6 = [...iptablesChains("ip6tables")].flatMap(([t, names]) => [...names].map((n) => `v6 ${t} ${n}`));
  return {
    links: execFileSync("ip", ["-o", "link"], { encoding: "utf8" }).split("\n").map((l) => l.split(":")[1]?.trim() ?? "").filter((n) => n.startsWith("weft")),
    netns: execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) => n.startsWith("cni-")),
    cgroups: readdirSync("/sys/fs/cgroup/memory").filter((n) => n.startsWith("weft-")),
    chains: [...chains, ...chains6].filter((c) => c.includes(" KUBE-")),
  };
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject);
  });
}

describe("test cluster: a real node (kubelet, containerd, CNI bridge)", function () {
  this.timeout(240000);
  let cluster: TestCluster | undefined;
  let before0: HostState | undefined;

  before(async function () {
    if (!kubernetesBinariesAvailable() || !nodeBinariesAvailable() || process.getuid?.() !== 0) this.skip();
    before0 = hostState();
    const started = Date.now();
    cluster = await startCluster({ node: true });
    console.log(`      control plane and node ready in ${Date.now() - started} ms`);
  });
  after(async function () {
    this.timeout(120000);
    await cluster?.stop();
  });

  it("runs a busybox httpd pod that becomes Ready through its HTTP probe and answers the host at its pod IP", async () => {
    const c = cluster as TestCluster;
    const ns = await c.createNamespace("node");
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    const started = Date.now();
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: "httpd", labels: { app: "httpd" } },
        spec: {
          terminationGracePeriodSeconds: 1,
          automountServiceAccountToken: false,
          containers: [
            {
              name: "httpd",
              image: BUSYBOX_IMAGE,
              imagePullPolicy: "Never",
              ports: [{ containerPort: 8080 }],
              readinessProbe: { httpGet: { path: "/index.html", port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    });
    let podIP = "";
    await waitFor("the pod to be Ready", async () => {
      const pod = await core.readNamespacedPod({ name: "httpd", namespace: ns });
      podIP = pod.status?.podIP ?? "";
      return pod.status?.conditions?.some((cond) => cond.type === "Ready" && cond.status === "True") === true;
    }, { timeoutMs: 120_000, intervalMs: 250 });
    console.log(`      pod Ready in ${Date.now() - started} ms at ${podIP}`);
    const pod = await core.readNamespacedPod({ name: "httpd", namespace: ns });
    assert.equal(pod.spec?.nodeName, c.nodeName);
    const res = await httpGet(`http://${podIP}:8080/`);
    assert.equal(res.status, 200);
    assert.equal(res.body, "hello from a weft test pod\n");
  });

  it("routes a pod's requests to a ClusterIP Service of another pod and to the apiserver through the kubernetes Service", async () => {
    const c = cluster as TestCluster;
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    const ns = (await core.listNamespace()).items.map((n) => n.metadata?.name ?? "").find((n) => n.startsWith("node-"));
    assert.ok(ns, "the httpd pod's namespace from the previous test");
    const svc = await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: "httpd" }, spec: { selector: { app: "httpd" }, ports: [{ port: 80, targetPort: 8080 }] } },
    });
    const clusterIP = svc.spec?.clusterIP ?? "";
    // Retried inside the pod: kube-proxy writes the new Service's rules a moment later.
    // nc, since the static busybox's wget crashes in its resolver.
    const script = [
      `for i in $(seq 60); do printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${clusterIP} 80 | grep hello && break; sleep 1; done`,
      `for i in $(seq 60); do nc -w 2 ${KUBERNETES_SERVICE_IP} 443 </dev/null && echo apiserver-reachable && break; sleep 1; done`,
    ].join("; ");
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: "client" },
        spec: {
          restartPolicy: "Never",
          terminationGracePeriodSeconds: 1,
          automountServiceAccountToken: false,
          containers: [{ name: "client", image: BUSYBOX_IMAGE, imagePullPolicy: "Never", command: ["/bin/sh", "-c", script] }],
        },
      },
    });
    await waitFor("the client pod to finish", async () => {
      const phase = (await core.readNamespacedPod({ name: "client", namespace: ns })).status?.phase;
      return phase === "Succeeded" || phase === "Failed";
    }, { timeoutMs: 150_000, intervalMs: 500 });
    const logs = await c.kubectl(["logs", "-n", ns, "client"]);
    assert.match(logs.stdout, /hello from a weft test pod/, `the Service answered (logs: ${logs.stdout}${logs.stderr})`);
    assert.match(logs.stdout, /apiserver-reachable/, `the kubernetes Service connected (logs: ${logs.stdout}${logs.stderr})`);
  });

  it("stops leaving no processes, mounts, bridges, cgroups, iptables chains or network namespaces behind", async () => {
    const c = cluster as TestCluster;
    const host = c.nodeHost;
    assert.ok(host);
    const dir = dirname(c.kubeconfigPath);
    const podNetns = netnsInodes(pidsInCgroupRoot(host.cgroupRoot));
    assert.notEqual(podNetns.size, 0, "the pod has a network namespace");
    await c.stop();
    cluster = undefined;
    assert.deepEqual(pidsMentioning(dir), [], "no process names the cluster's folder");
    assert.deepEqual(pidsInCgroupRoot(host.cgroupRoot), [], "no process is left in the node's cgroups");
    assert.deepEqual(readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(dir)), [], "nothing is mounted");
    const after = hostState();
    assert.equal(after.links.includes(host.bridge), false, "the bridge is gone");
    assert.equal(after.cgroups.includes(host.cgroupRoot.slice(1)), false, "the cgroup root is gone");
    const leftNetns = readdirSync("/run/netns").filter((n) => podNetns.has(statSync(join("/run/netns", n)).ino));
    assert.deepEqual(leftNetns, [], "the pod's network namespace is gone");
    // Chains are shared by every kubelet on the machine: compare only when no other ran.
    if (pidsMentioning("kubelet.yaml").length === 0 && before0?.chains.length === 0) assert.deepEqual(after.chains, [], "the kubelet's and kube-proxy's iptables chains are gone");
  });
});
