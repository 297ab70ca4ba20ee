// Routine operations under steady load cost no failed request (issue 21), on the real node,
// inside mesh-on-node.test.ts's install: a meshed fortio sends a fixed rate of GETs over a
// few connections to a meshed server Deployment, and each operation runs while the load
// flows for at least a minute. Each asserts zero non-2xx answers and zero connection errors
// (fortio's own result), and records the p99 during the operation against a baseline
// window just before it. One load pod and one server Deployment serve every operation, back
// to back, to keep the suite short; the figures are printed at the end (docs/operations.md).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { AppsV1Api, CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { importImages } from "../../images/import.ts";
import { parseMetricsText } from "../../cli/src/metrics-text.ts";
import type { TestCluster } from "../cluster/cluster.ts";
import { CHART, helm } from "../chart/helm.ts";
import { waitFor } from "../support/wait.ts";
import { FORTIO_API_PORT, FORTIO_IMAGE, FORTIO_SERVER_ARGS, FortioClient, fortioImageArchive, type LoadOptions, type LoadSummary } from "./fortio-load.ts";

const NS = "weft-system";
const CP_SELECTOR = "app.kubernetes.io/component=control-plane";
/** Each operation runs under load for at least this long. */
const WINDOW_MS = 60_000;
const BASELINE_S = 10;
const QPS = 100;
const CONNECTIONS = 4;

interface Figure {
  operation: string;
  baseline: LoadSummary;
  during: LoadSummary;
  operationSeconds: number;
  /** Attempts the load pod's proxy retried during the run, by the outcome that caused them. */
  retries: Record<string, number>;
}

const ready = (pod: V1Pod): boolean => pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ctr(socket: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("ctr", ["-a", socket, "-n", "k8s.io", ...args], { timeout: 120_000 }, (err, stdout, stderr) => (err ? reject(new Error(`ctr ${args.join(" ")}: ${stderr}`)) : resolve(stdout)));
  });
}

/** weft_proxy_retries_total of one proxy, summed by reason. */
async function retriesByReason(podIP: string): Promise<Record<string, number>> {
  const res = await fetch(`http://${podIP}:4191/metrics`, { signal: AbortSignal.timeout(5000) });
  const out: Record<string, number> = {};
  for (const sample of parseMetricsText(await res.text())) {
    if (sample.name !== "weft_proxy_retries_total") continue;
    const reason = sample.labels.reason ?? "";
    out[reason] = (out[reason] ?? 0) + sample.value;
  }
  return out;
}

function difference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

export function describeOperations(getCluster: () => TestCluster): void {
  describe("routine operations under load", function () {
    const figures: Figure[] = [];
    let ns = "";
    let load: FortioClient;
    let loadIP = "";
    let loadOptions: LoadOptions;
    let started = 0;
    const c = (): TestCluster => getCluster();
    const core = (): CoreV1Api => c().kubeConfig.makeApiClient(CoreV1Api);
    const apps = (): AppsV1Api => c().kubeConfig.makeApiClient(AppsV1Api);
    const kubeHelm = (args: string[]): ReturnType<typeof helm> => helm([...args, "--kubeconfig", c().kubeconfigPath]);
    const kubectl = async (args: string[]): Promise<string> => {
      const r = await c().kubectl(args);
      assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stdout}${r.stderr}`);
      return r.stdout;
    };
    const rollout = (namespace: string, deployment: string): Promise<string> => kubectl(["rollout", "status", "-n", namespace, `deployment/${deployment}`, "--timeout", "240s"]);
    const pods = async (namespace: string, selector: string): Promise<V1Pod[]> =>
      (await core().listNamespacedPod({ namespace, labelSelector: selector })).items.filter((p) => p.metadata?.deletionTimestamp === undefined);
    const deploymentReady = (namespace: string, name: string, replicas: number) =>
      waitFor(`${namespace}/${name} to have ${replicas} ready replicas and no others`, async () => {
        const d = await apps().readNamespacedDeployment({ name, namespace });
        const s = d.status;
        return (s?.readyReplicas ?? 0) === replicas && (s?.replicas ?? 0) === replicas && (s?.updatedReplicas ?? 0) === replicas;
      }, { timeoutMs: 300_000, intervalMs: 1000 });
    /** Every running pod of the server Deployment is gone from the list (not just Terminating). */
    const serverPodsExactly = (n: number) =>
      waitFor(`exactly ${n} server pods, none terminating`, async () => (await core().listNamespacedPod({ namespace: ns, labelSelector: "app=server" })).items.length === n, { timeoutMs: 240_000, intervalMs: 1000 });

    /** A baseline window, then the operation under load for at least WINDOW_MS; asserts no failed request. */
    async function underLoad(operation: string, op: () => Promise<void>): Promise<void> {
      const baseline = await load.run(loadOptions, BASELINE_S);
      assert.equal(baseline.ok, baseline.requests, `the baseline before "${operation}" already failed: ${JSON.stringify(baseline.codes)}`);
      const retriesBefore = await retriesByReason(loadIP);
      const run = await load.start(loadOptions);
      const t0 = Date.now();
      await pause(2000);
      const opStart = Date.now();
      let opError: unknown;
      try {
        await op();
      } catch (err) {
        opError = err;
      }
      const operationSeconds = (Date.now() - opStart) / 1000;
      const left = WINDOW_MS - (Date.now() - t0);
      // The load window itself: the operation is covered and the mesh settles under load after it.
      await pause(Math.max(left, 5000));
      const during = await load.stop(run);
      const retries = difference(await retriesByReason(loadIP), retriesBefore);
      if (opError !== undefined) throw opError;
      figures.push({ operation, baseline, during, operationSeconds, retries });
      console.log(`      ${operation}: ${during.requests} requests in ${during.seconds.toFixed(1)} s (${during.qps.toFixed(1)} qps), codes ${JSON.stringify(during.codes)}; ` +
        `p99 ${during.p99Ms.toFixed(1)} ms during vs ${baseline.p99Ms.toFixed(1)} ms before; operation took ${operationSeconds.toFixed(1)} s; ` +
        `the load's proxy retried ${JSON.stringify(retries)}`);
      assert.ok(during.seconds * 1000 >= WINDOW_MS - 1000, `the load ran ${during.seconds} s`);
      assert.equal(during.connectionErrors, 0, `connection errors during "${operation}": ${JSON.stringify(during.codes)}`);
      assert.equal(during.non2xx, 0, `non-2xx answers during "${operation}": ${JSON.stringify(during.codes)}`);
      assert.equal(during.ok, during.requests);
    }

    before(async function () {
      this.timeout(600_000);
      started = Date.now();
      const socket = join(dirname(c().kubeconfigPath), "node", "containerd.sock");
      await importImages(socket, fortioImageArchive());
      // Two control-plane replicas (one is lost below) and two webhook replicas (one serves while the other upgrades).
      const up = kubeHelm(["upgrade", "weft", CHART, "-n", NS, "--reuse-values", "--set", "controlPlane.replicas=2", "--set", "webhook.replicas=2"]);
      assert.equal(up.code, 0, up.stderr);
      await deploymentReady(NS, "weft-control-plane", 2);
      await deploymentReady(NS, "weft-webhook", 2);
      ns = await c().createNamespace("ops", { "weft.io/inject": "enabled" });
      for (const sa of ["load", "server"]) await core().createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
      await apps().createNamespacedDeployment({
        namespace: ns,
        body: {
          metadata: { name: "server" },
          spec: {
            replicas: 3,
            selector: { matchLabels: { app: "server" } },
            template: {
              metadata: { labels: { app: "server" } },
              spec: {
                serviceAccountName: "server",
                terminationGracePeriodSeconds: 30,
                containers: [{
                  name: "app",
                  image: "weft.test/apps:0.1.0",
                  imagePullPolicy: "Never",
                  // Exits at once on SIGTERM: the mesh, not the app, must keep requests from failing.
                  args: ["test/images/apps/http-echo-abrupt.ts", "--port", "8080", "--host", "0.0.0.0"],
                  readinessProbe: { httpGet: { path: "/status/200", port: 8080 }, periodSeconds: 2 },
                }],
              },
            },
          },
        },
      });
      const svc = await core().createNamespacedService({
        namespace: ns,
        body: { metadata: { name: "server" }, spec: { selector: { app: "server" }, ports: [{ name: "http", port: 8080 }] } },
      });
      await core().createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: "load", labels: { app: "load" }, annotations: { "config.weft.io/skip-inbound-ports": String(FORTIO_API_PORT) } },
          spec: {
            serviceAccountName: "load",
            containers: [{
              name: "fortio",
              image: FORTIO_IMAGE,
              imagePullPolicy: "Never",
              args: FORTIO_SERVER_ARGS,
              readinessProbe: { httpGet: { path: "/fortio/", port: FORTIO_API_PORT }, periodSeconds: 2 },
            }],
          },
        },
      });
      await deploymentReady(ns, "server", 3);
      const loadPod = await waitFor("the load pod Ready", async () => {
        const p = await core().readNamespacedPod({ name: "load", namespace: ns });
        return ready(p) ? p : undefined;
      }, { timeoutMs: 300_000, intervalMs: 1000 });
      assert.ok(loadPod.spec?.initContainers?.some((x) => x.restartPolicy === "Always"), "the load pod has the proxy as a native sidecar");
      loadIP = loadPod.status?.podIP ?? "";
      load = new FortioClient(loadIP);
      loadOptions = { url: `http://${svc.spec?.clusterIP ?? ""}:8080/`, qps: QPS, connections: CONNECTIONS };
      // Every server is known to the load's proxy before the first baseline.
      await waitFor("a clean short run through the mesh", async () => {
        const r = await load.run(loadOptions, 2);
        return r.requests > 0 && r.ok === r.requests;
      }, { timeoutMs: 120_000, intervalMs: 2000 });
    });

    after(async function () {
      this.timeout(180_000);
      if (figures.length > 0) {
        console.log("      operation | failed | requests during | p99 before (ms) | p99 during (ms) | operation (s) | retries");
        for (const f of figures) {
          const failed = f.during.non2xx + f.during.connectionErrors;
          const retried = Object.entries(f.retries).map(([k, v]) => `${v} ${k}`).join(", ") || "0";
          console.log(`      ${f.operation} | ${failed} | ${f.during.requests} | ${f.baseline.p99Ms.toFixed(1)} | ${f.during.p99Ms.toFixed(1)} | ${f.operationSeconds.toFixed(1)} | ${retried}`);
        }
      }
      console.log(`      the operations suite took ${((Date.now() - started) / 1000).toFixed(0)} s`);
      if (ns !== "") await c().kubectl(["delete", "namespace", ns, "--wait=false"]);
    });

    it("a rolling restart of the server Deployment", async function () {
      this.timeout(600_000);
      await underLoad("rolling restart", async () => {
        await kubectl(["rollout", "restart", "-n", ns, "deployment/server"]);
        await rollout(ns, "server");
        await serverPodsExactly(3);
      });
    });

    it("scaling the server Deployment down from 3 to 2", async function () {
      this.timeout(600_000);
      await underLoad("scale-down 3 to 2", async () => {
        await kubectl(["scale", "-n", ns, "deployment/server", "--replicas=2"]);
        await serverPodsExactly(2);
      });
    });

    it("a rollout of a new proxy version: the injector's sidecar changes, then the servers restart", async function () {
      this.timeout(600_000);
      await underLoad("proxy rollout", async () => {
        const up = kubeHelm(["upgrade", "weft", CHART, "-n", NS, "--reuse-values", "--set", "proxy.logLevel=warn"]);
        assert.equal(up.code, 0, up.stderr);
        // The webhook reads its ConfigMap when the kubelet updates the mounted file (up to a minute):
        // a server-side dry run shows what the injector gives a new pod now.
        await waitFor("the injector to give new pods the new sidecar", async () => {
          const dry = await c().kubectl(["create", "-n", ns, "--dry-run=server", "-o", "json", "-f", "-"], {
            input: JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "dry-run" }, spec: { containers: [{ name: "app", image: "weft.test/apps:0.1.0" }] } }),
          });
          return /"warn"/.test(dry.stdout);
        }, { timeoutMs: 180_000, intervalMs: 2000 });
        await kubectl(["rollout", "restart", "-n", ns, "deployment/server"]);
        await rollout(ns, "server");
        await serverPodsExactly(2);
      });
      for (const p of await pods(ns, "app=server")) {
        const sidecar = p.spec?.initContainers?.find((x) => x.restartPolicy === "Always");
        assert.match(JSON.stringify(sidecar), /"warn"/, `${p.metadata?.name ?? ""} runs the new sidecar`);
      }
    });

    it("helm upgrade of the control plane and the webhook to a new version", async function () {
      this.timeout(600_000);
      const cp = await apps().readNamespacedDeployment({ name: "weft-control-plane", namespace: NS });
      const tag = (cp.spec?.template.spec?.containers[0]?.image ?? "").split(":").pop() ?? "";
      const next = `${tag}-next`;
      const socket = join(dirname(c().kubeconfigPath), "node", "containerd.sock");
      // The same bits under a new tag: every Weft image rolls as a release's would. Every one the
      // node holds (the dashboard's, the CNI agent's too), so a later suite that turns a component on
      // with --reuse-values finds its image under the new tag.
      const images = (await ctr(socket, ["images", "ls", "-q"])).split("\n").filter((ref) => ref.startsWith("ghcr.io/weft-mesh/") && ref.endsWith(`:${tag}`));
      assert.ok(images.length >= 4, `Weft images at ${tag} on the node: ${images.join(", ")}`);
      for (const ref of images) await ctr(socket, ["images", "tag", "--force", ref, `${ref.slice(0, -tag.length)}${next}`]);
      await underLoad("helm upgrade of control plane and webhook", async () => {
        const up = kubeHelm(["upgrade", "weft", CHART, "-n", NS, "--reuse-values", "--set", `image.tag=${next}`]);
        assert.equal(up.code, 0, up.stderr);
        await rollout(NS, "weft-control-plane");
        await rollout(NS, "weft-webhook");
        await deploymentReady(NS, "weft-control-plane", 2);
      });
    });

    it("killing the control plane's pods", async function () {
      this.timeout(600_000);
      await underLoad("control-plane pods killed", async () => {
        const killed = new Set((await pods(NS, CP_SELECTOR)).map((p) => p.metadata?.name));
        await kubectl(["delete", "pod", "-n", NS, "-l", CP_SELECTOR, "--grace-period=0", "--force", "--wait=false"]);
        await waitFor("two new control-plane pods Ready", async () => {
          const now = (await pods(NS, CP_SELECTOR)).filter((p) => !killed.has(p.metadata?.name));
          return now.filter(ready).length === 2;
        }, { timeoutMs: 240_000, intervalMs: 1000 });
      });
    });

    it("stopping the control plane for 60 s: proxies keep serving, and a new meshed pod waits, then starts", async function () {
      this.timeout(600_000);
      let downFor = 0;
      await underLoad("control plane stopped 60 s", async () => {
        await kubectl(["scale", "-n", NS, "deployment/weft-control-plane", "--replicas=0"]);
        await waitFor("no control-plane pod left", async () => (await core().listNamespacedPod({ namespace: NS, labelSelector: CP_SELECTOR })).items.length === 0, { timeoutMs: 120_000, intervalMs: 1000 });
        const down = Date.now();
        await kubectl(["scale", "-n", ns, "deployment/server", "--replicas=3"]);
        const newPod = await waitFor("the new server pod scheduled on the node", async () => {
          const all = await pods(ns, "app=server");
          return all.find((p) => p.spec?.nodeName !== undefined && !ready(p));
        }, { timeoutMs: 120_000, intervalMs: 1000 });
        await pause(Math.max(0, 60_000 - (Date.now() - down)));
        const waiting = await core().readNamespacedPod({ name: newPod.metadata?.name ?? "", namespace: ns });
        console.log(`      the new pod after ${((Date.now() - down) / 1000).toFixed(0)} s without a control plane: ${JSON.stringify(waiting.status?.initContainerStatuses?.map((s) => ({ name: s.name, state: s.state, started: s.started })))}`);
        assert.equal(ready(waiting), false, "a pod whose proxy has no certificate is not Ready while the control plane is down");
        downFor = (Date.now() - down) / 1000;
        await kubectl(["scale", "-n", NS, "deployment/weft-control-plane", "--replicas=2"]);
        await deploymentReady(NS, "weft-control-plane", 2);
        await deploymentReady(ns, "server", 3);
        const started = await core().readNamespacedPod({ name: newPod.metadata?.name ?? "", namespace: ns });
        const proxy = started.status?.initContainerStatuses?.find((x) => x.name === "weft-proxy");
        assert.equal(proxy?.restartCount, 0, `the new pod's proxy waited for the control plane without restarting: ${JSON.stringify(proxy)}`);
      });
      assert.ok(downFor >= 60, `the control plane was down ${downFor} s`);
    });

    it("restarting the apiserver", async function () {
      this.timeout(600_000);
      await underLoad("apiserver restart", async () => {
        await c().stopApiserver();
        await c().startApiserver();
        await deploymentReady(ns, "server", 3);
      });
    });

    it("losing one of two control-plane replicas: the other serves every proxy", async function () {
      this.timeout(600_000);
      const meshed = (await pods(ns, "app=server")).length + 1;
      const streamsOn = async (pod: V1Pod): Promise<number> => {
        const res = await fetch(`http://${pod.status?.podIP ?? ""}:9990/metrics`, { signal: AbortSignal.timeout(5000) });
        const m = /^weft_discovery_streams (\d+)/m.exec(await res.text());
        return Number(m?.[1] ?? "0");
      };
      const replicas = await pods(NS, CP_SELECTOR);
      assert.equal(replicas.filter(ready).length, 2, "two control-plane replicas are Ready");
      const before = await Promise.all(replicas.map(streamsOn));
      console.log(`      discovery streams per control-plane replica before: ${before.join(", ")}`);
      // The replica holding the most streams is lost: its proxies must move to the other.
      const v = (before[0] ?? 0) >= (before[1] ?? 0) ? 0 : 1;
      const victim = replicas[v]!;
      const survivor = replicas[1 - v]!;
      const survivorBefore = before[1 - v] ?? 0;
      await underLoad("one of two control-plane replicas lost", async () => {
        await kubectl(["delete", "pod", "-n", NS, victim.metadata?.name ?? "", "--grace-period=0", "--force", "--wait=false"]);
        await waitFor(`every meshed proxy (${meshed}) streaming again, the surviving replica serving those of the lost one`, async () => {
          const now = (await pods(NS, CP_SELECTOR)).filter(ready);
          const streams = await Promise.all(now.map(streamsOn));
          const onSurvivor = await streamsOn(survivor);
          return streams.reduce((a, b) => a + b, 0) >= meshed && onSurvivor > survivorBefore;
        }, { timeoutMs: 120_000, intervalMs: 2000 });
        await deploymentReady(NS, "weft-control-plane", 2);
      });
      console.log(`      discovery streams per control-plane replica after: ${(await Promise.all((await pods(NS, CP_SELECTOR)).map(streamsOn))).join(", ")}`);
    });
  });
}
