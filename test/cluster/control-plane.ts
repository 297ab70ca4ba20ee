// The control-plane processes of a test cluster on loopback: etcd, kube-apiserver,
// kube-controller-manager and (with a node) kube-scheduler. Credentials are static
// tokens from a token file, which keeps kubeconfigs trivial. The aggregation layer
// is set up as kubeadm does (a front-proxy CA and client certificate, X-Remote-*
// headers), so aggregated APIs such as tap.weft.io work.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { writeFileSync, mkdirSync, readFileSync, existsSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { freePorts } from "../support/ports.ts";
import { StopWaiting, waitFor } from "../support/wait.ts";
import { binary } from "./binaries.ts";
import { FRONT_PROXY_CLIENT_NAME, writeFrontProxyCa, writeFrontProxyClient, type CertFiles } from "./front-proxy-pki.ts";
import { startProcess, logTail, isRunning, type ManagedProcess } from "./processes.ts";

export interface ControlPlaneFiles {
  dir: string;
  certDir: string;
  saKey: string;
  saPub: string;
  tokenFile: string;
  adminToken: string;
  kubeletToken: string;
  adminKubeconfig: string;
  kubeletKubeconfig: string;
  /** The requestheader CA and the apiserver's front-proxy client certificate (CN front-proxy-client). */
  frontProxyCa: CertFiles;
  frontProxyClient: CertFiles;
}

export interface ControlPlanePorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
}

export async function allocatePorts(): Promise<ControlPlanePorts> {
  const [etcdClient, etcdPeer, apiserver] = (await freePorts(3)) as [number, number, number];
  return { etcdClient, etcdPeer, apiserver };
}

export function kubeconfigYaml(server: string, caFile: string, user: string, token: string): string {
  const ca = readFileSync(caFile).toString("base64");
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: test",
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    "users:",
    `- name: ${user}`,
    "  user:",
    `    token: ${token}`,
    "contexts:",
    "- name: test",
    "  context:",
    "    cluster: test",
    `    user: ${user}`,
    "current-context: test",
    "",
  ].join("\n");
}

export function writeCredentials(dir: string, nodeName: string): ControlPlaneFiles {
  const certDir = join(dir, "pki");
  mkdirSync(certDir, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const saKey = join(certDir, "sa.key");
  const saPub = join(certDir, "sa.pub");
  writeFileSync(saKey, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  writeFileSync(saPub, publicKey.export({ type: "spki", format: "pem" }));
  const adminToken = randomBytes(24).toString("hex");
  const kubeletToken = randomBytes(24).toString("hex");
  const tokenFile = join(certDir, "tokens.csv");
  // The kubelet is a test node: system:masters spares setting up the Node authorizer.
  writeFileSync(
    tokenFile,
    `${adminToken},admin,admin,system:masters\n${kubeletToken},system:node:${nodeName},kubelet,"system:nodes,system:masters"\n`,
    { mode: 0o600 },
  );
  const frontProxyCa = writeFrontProxyCa(certDir);
  return {
    dir,
    certDir,
    saKey,
    saPub,
    tokenFile,
    adminToken,
    kubeletToken,
    adminKubeconfig: join(dir, "admin.kubeconfig"),
    kubeletKubeconfig: join(dir, "kubelet.kubeconfig"),
    frontProxyCa,
    frontProxyClient: writeFrontProxyClient(certDir, frontProxyCa, FRONT_PROXY_CLIENT_NAME),
  };
}

/** The apiserver writes its self-signed serving certificate (with its CA) here. */
export function servingCertFile(files: ControlPlaneFiles): string {
  return join(files.certDir, "apiserver.crt");
}

export function startEtcd(files: ControlPlaneFiles, ports: ControlPlanePorts): ManagedProcess {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return startProcess("etcd", binary("etcd"), [
    "--name", "test",
    "--data-dir", join(files.dir, "etcd"),
    "--listen-client-urls", client,
    "--advertise-client-urls", client,
    "--listen-peer-urls", peer,
    "--initial-advertise-peer-urls", peer,
    "--initial-cluster", `test=${peer}`,
    "--unsafe-no-fsync",
    "--quota-backend-bytes", String(2 * 1024 * 1024 * 1024),
  ], join(files.dir, "etcd.log"));
}

/** The `kubernetes` Service's ClusterIP: the first address of the service range. */
export const SERVICE_CIDR = "10.96.0.0/16";
export const KUBERNETES_SERVICE_IP = "10.96.0.1";

/**
 * With a node, pods reach the apiserver through the `kubernetes` Service, which points at
 * the advertised address (the node bridge's gateway): the serving certificate must name
 * it, the Service IP and loopback. The apiserver reuses a certificate it finds in
 * --cert-dir, so writing one there replaces the one it would generate.
 */
export function writeServingCert(files: ControlPlaneFiles, advertiseAddress: string): void {
  const sans = [
    `IP:127.0.0.1`, `IP:${advertiseAddress}`, `IP:${KUBERNETES_SERVICE_IP}`, "DNS:localhost",
    "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local",
  ];
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-subj", "/CN=kube-apiserver", "-addext", `subjectAltName=${sans.join(",")}`,
    "-days", "7", "-keyout", join(files.certDir, "apiserver.key"), "-out", servingCertFile(files),
  ], { stdio: "ignore" });
}

/**
 * `advertiseAddress` (with a node): listen on every address so pods can connect, and let
 * the lease reconciler point the `kubernetes` Service there. Without one, loopback only
 * and no endpoints, since a loopback address is not a valid endpoint.
 */
export function startApiserverProcess(files: ControlPlaneFiles, ports: ControlPlanePorts, advertiseAddress?: string): ManagedProcess {
  const network = advertiseAddress === undefined
    ? ["--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--endpoint-reconciler-type", "none"]
    : ["--bind-address", "0.0.0.0", "--advertise-address", advertiseAddress, "--endpoint-reconciler-type", "lease"];
  return startProcess("kube-apiserver", binary("kube-apiserver"), [
    "--etcd-servers", `http://127.0.0.1:${ports.etcdClient}`,
    "--cert-dir", files.certDir,
    "--secure-port", String(ports.apiserver),
    ...network,
    "--service-cluster-ip-range", SERVICE_CIDR,
    "--authorization-mode", "RBAC",
    "--token-auth-file", files.tokenFile,
    "--enable-admission-plugins", "NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
    "--service-account-issuer", "https://kubernetes.default.svc",
    "--service-account-key-file", files.saPub,
    "--service-account-signing-key-file", files.saKey,
    "--api-audiences", "https://kubernetes.default.svc",
    "--allow-privileged=true",
    "--enable-aggregator-routing=true",
    // The aggregation layer: who the apiserver is when it calls an aggregated API, and
    // the headers it names the user in (published in kube-system/extension-apiserver-authentication).
    "--requestheader-client-ca-file", files.frontProxyCa.cert,
    "--requestheader-allowed-names", FRONT_PROXY_CLIENT_NAME,
    "--requestheader-username-headers=X-Remote-User",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    "--proxy-client-cert-file", files.frontProxyClient.cert,
    "--proxy-client-key-file", files.frontProxyClient.key,
    "--kubelet-preferred-address-types", "InternalIP",
    "--profiling=false",
  ], join(files.dir, "kube-apiserver.log"));
}

export function startControllerManager(files: ControlPlaneFiles, withNode: boolean): ManagedProcess {
  // Without a kubelet, the node lifecycle controller would mark fake nodes NotReady and
  // evict their pods; with a real kubelet it must run to lift the not-ready taint.
  const controllers = withNode ? "*" : "*,-node-lifecycle-controller";
  return startProcess("kube-controller-manager", binary("kube-controller-manager"), [
    "--kubeconfig", files.adminKubeconfig,
    "--service-account-private-key-file", files.saKey,
    "--root-ca-file", servingCertFile(files),
    "--leader-elect=false",
    "--bind-address", "127.0.0.1",
    "--secure-port", "0",
    "--use-service-account-credentials=true",
    "--controllers", controllers,
    "--cluster-cidr", "10.244.0.0/16",
    "--allocate-node-cidrs=false",
    "--concurrent-endpoint-syncs", "5",
    "--endpointslice-updates-batch-period", "0s",
  ], join(files.dir, "kube-controller-manager.log"));
}

export function startScheduler(files: ControlPlaneFiles): ManagedProcess {
  return startProcess("kube-scheduler", binary("kube-scheduler"), [
    "--kubeconfig", files.adminKubeconfig,
    "--leader-elect=false",
    "--bind-address", "127.0.0.1",
    "--secure-port", "0",
  ], join(files.dir, "kube-scheduler.log"));
}

function get(url: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve({ status: 0, body: "" }));
    req.end();
  });
}

/** Polls /readyz until it answers 200; fails early with the log tail if the process died. */
export async function waitReady(server: string, token: string, proc: ManagedProcess, timeoutMs = 60000): Promise<void> {
  try {
    await waitFor(`${proc.name}'s /readyz to answer 200`, async () => {
      if (!isRunning(proc)) throw new StopWaiting(`${proc.name} exited during start-up`);
      return (await get(`${server}/readyz`, token)).status === 200;
    }, { timeoutMs, intervalMs: 100 });
  } catch (err) {
    throw new Error(`${(err as Error).message}:\n${logTail(proc)}`, { cause: err });
  }
}

export async function waitForFile(path: string, proc: ManagedProcess, timeoutMs = 30000): Promise<void> {
  try {
    await waitFor(`${proc.name} to write ${path}`, () => {
      if (!isRunning(proc)) throw new StopWaiting(`${proc.name} exited during start-up`);
      return existsSync(path);
    }, { timeoutMs, intervalMs: 50 });
  } catch (err) {
    throw new Error(`${(err as Error).message}:\n${logTail(proc)}`, { cause: err });
  }
}
