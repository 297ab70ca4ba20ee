// `weft tap` end to end on the real node (issue 19), run inside
// mesh-on-node.test.ts's install: the CLI streams through the apiserver's
// aggregation layer (APIService v1alpha1.tap.weft.io, verified by its caBundle,
// front-proxy certificate) to the control plane's tap component, which dials
// the server's proxy under ALPN weft.tap/1. A request the test sends with a
// unique path shows up in `weft tap deploy/server -o json` within a second; a
// ServiceAccount bound to weft-tap-reader may tap, one without it is refused
// with a message naming the permission.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { AppsV1Api, CoreV1Api, RbacAuthorizationV1Api, type V1Pod } from "@kubernetes/client-node";
import { LABELS } from "../../lib/proxy-contract.ts";
import type { TapEvent } from "../../lib/tap-contract.ts";
import type { TestCluster } from "../cluster/cluster.ts";
import { StopWaiting, waitFor } from "../support/wait.ts";
import { weft } from "./weft-cli.ts";

const CLI = fileURLToPath(new URL("../../cli/src/main.ts", import.meta.url));

interface Seen {
  event: TapEvent;
  at: number;
}

/** A running `weft tap`: its events as they arrive (with when), its stderr, its end. */
interface TapRun {
  child: ChildProcess;
  seen: Seen[];
  stderr(): string;
  exited: Promise<number>;
  stop(): Promise<number>;
}

function startTap(args: string[]): TapRun {
  const child = spawn(process.execPath, [CLI, "tap", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const seen: Seen[] = [];
  let buf = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) seen.push({ event: JSON.parse(line) as TapEvent, at: Date.now() });
    }
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number>((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
  return {
    child,
    seen,
    stderr: () => err,
    exited,
    stop: () => {
      if (child.exitCode === null) child.kill("SIGINT");
      return exited;
    },
  };
}

export function describeTap(getCluster: () => TestCluster): void {
  describe("weft tap on the node", function () {
    let ns = "";
    let serverIP = "";
    let core: CoreV1Api;
    const running: TapRun[] = [];

    /** One request from the client pod's app container (through its proxy); resolves when its answer is back. */
    async function send(path: string): Promise<number> {
      const r = await getCluster().kubectl(["exec", "-n", ns, "client", "-c", "app", "--", "node", "-e",
        `fetch("http://${serverIP}:8080${path}", { signal: AbortSignal.timeout(5000) }).then((r) => console.log(r.status), (e) => console.log(String(e)))`]);
      return Number(r.stdout.trim());
    }

    before(async function () {
      this.timeout(600_000);
      const c = getCluster();
      core = c.kubeConfig.makeApiClient(CoreV1Api);
      ns = await c.createNamespace("tap", { "weft.io/inject": "enabled" });
      for (const sa of ["client", "server"]) await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
      const container = (args: string[]) => ({ name: "app", image: "weft.test/apps:0.1.0", imagePullPolicy: "Never", args });
      await c.kubeConfig.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: ns, body: {
        metadata: { name: "server" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "server" } },
          template: { metadata: { labels: { app: "server" } }, spec: { serviceAccountName: "server", terminationGracePeriodSeconds: 2, containers: [container(["test/fixtures/apps/http-echo.ts", "--port", "8080", "--host", "0.0.0.0"])] } },
        },
      } });
      const svc = await core.createNamespacedService({ namespace: ns, body: { metadata: { name: "server" }, spec: { selector: { app: "server" }, ports: [{ name: "http", port: 8080 }] } } });
      serverIP = svc.spec?.clusterIP ?? "";
      // Live traffic all along, once a second, besides the requests the tests send.
      const client: V1Pod = { metadata: { name: "client", labels: { app: "client" } }, spec: { serviceAccountName: "client", terminationGracePeriodSeconds: 2, containers: [container(["test/images/apps/http-get.ts", `http://${serverIP}:8080/steady`, "--every", "1000"])] } };
      await core.createNamespacedPod({ namespace: ns, body: client });
      // The webhook's failurePolicy is Ignore: on a loaded node a pod can be admitted uninjected
      // when the webhook is slow. Such a pod is replaced (the server's by its ReplicaSet).
      await waitFor("server and client injected and Ready", async () => {
        const pods = (await core.listNamespacedPod({ namespace: ns })).items.filter((p) => !p.metadata?.deletionTimestamp);
        for (const p of pods) {
          if (p.metadata?.labels?.[LABELS.meshed] === "true") continue;
          const name = p.metadata?.name ?? "";
          console.log(`      ${name} was admitted without a sidecar; replacing it`);
          await core.deleteNamespacedPod({ namespace: ns, name, gracePeriodSeconds: 0 });
          if (name === "client") {
            await waitFor("the old client gone", async () => (await core.listNamespacedPod({ namespace: ns, fieldSelector: "metadata.name=client" })).items.length === 0, { timeoutMs: 60_000, intervalMs: 500 });
            await core.createNamespacedPod({ namespace: ns, body: client });
          }
          return false;
        }
        return pods.length === 2 && pods.every((p) => p.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True") === true);
      }, { timeoutMs: 300_000, intervalMs: 1000 });
      await waitFor("the client's requests through the mesh", async () => (await send("/")) === 200, { timeoutMs: 120_000, intervalMs: 1000 });
      // The APIService is Available once the apiserver has reached the tap API with its front-proxy certificate.
      await waitFor("APIService v1alpha1.tap.weft.io Available", async () => {
        const r = await c.kubectl(["get", "apiservice", "v1alpha1.tap.weft.io", "-o", "jsonpath={.status.conditions[?(@.type==\"Available\")].status}"]);
        return r.stdout.trim() === "True";
      }, { timeoutMs: 120_000, intervalMs: 1000 });
    });
    afterEach(async () => {
      for (const t of running.splice(0)) await t.stop();
    });

    it("weft tap deploy/server -o json shows a request the test sends, with both identities, within a second", async () => {
      const c = getCluster();
      const tap = startTap(["deploy/server", "-n", ns, "-o", "json", "--kubeconfig", c.kubeconfigPath]);
      running.push(tap);
      // The stream is up once the client's background requests come through it.
      await waitFor("live requests in the tap", () => {
        if (tap.child.exitCode !== null) throw new StopWaiting(`weft tap exited ${tap.child.exitCode}: ${tap.stderr()}`);
        return tap.seen.some((s) => s.event.path === "/steady");
      }, { timeoutMs: 60_000, intervalMs: 100 });
      const path = `/tap-e2e-${randomBytes(4).toString("hex")}`;
      assert.equal(await send(path), 200);
      const answered = Date.now();
      let found: Seen | undefined;
      await waitFor(`${path} in the tap`, () => (found = tap.seen.find((s) => s.event.path === path)) !== undefined, { timeoutMs: 5_000, intervalMs: 20 });
      const { event, at } = found!;
      console.log(`      ${path} seen ${at - event.ts} ms after the server's proxy answered it (${at - answered} ms after kubectl exec returned)`);
      assert.ok(at - event.ts <= 1000, `seen ${at - event.ts} ms after the proxy's event time`);
      assert.ok(at - answered <= 1000, `seen ${at - answered} ms after the request was answered`);
      assert.equal(event.direction, "inbound");
      assert.equal(event.method, "GET");
      assert.equal(event.status, 200);
      assert.equal(event.tls, true);
      assert.equal(event.source, `spiffe://cluster.local/ns/${ns}/sa/client`);
      assert.equal(event.destination, `spiffe://cluster.local/ns/${ns}/sa/server`);
      assert.match(event.pod ?? "", new RegExp(`^${ns}/server-`));
    });

    it("weft top deploy/server shows the busiest paths from the tap stream, with a path only the test requests", async function () {
      this.timeout(60_000);
      const c = getCluster();
      const path = `/top-e2e-${randomBytes(4).toString("hex")}`;
      const top = weft(["top", "deploy/server", "-n", ns, "--once", "--duration", "8s", "-o", "json", "--kubeconfig", c.kubeconfigPath]);
      // The tap is up within a second or two; six requests through kubectl exec take longer than that.
      for (let i = 0; i < 6; i++) assert.equal(await send(path), 200);
      const r = await top;
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as { rows: { direction: string; source: string; path: string; requests: number; successRate: number }[] };
      console.log(`      weft top: ${JSON.stringify(report.rows.map((x) => [x.direction, x.path, x.requests]))}`);
      const row = report.rows.find((x) => x.path === path);
      assert.ok(row, `${path} among the busiest paths`);
      assert.equal(row.direction, "inbound");
      assert.equal(row.source, `spiffe://cluster.local/ns/${ns}/sa/client`);
      assert.equal(row.successRate, 1);
      assert.ok(row.requests >= 1 && row.requests <= 6, `${row.requests} requests`);
      assert.ok(report.rows.some((x) => x.path === "/steady"), "the client's steady traffic too");
    });

    it("a ServiceAccount bound to weft-tap-reader may tap; one without it is refused with the permission it lacks", async () => {
      const c = getCluster();
      await c.kubeConfig.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({ namespace: ns, body: {
        metadata: { name: "tapper-taps" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "weft-tap-reader" },
        subjects: [{ kind: "ServiceAccount", name: "tapper", namespace: ns }],
      } });
      const tapper = startTap(["deploy/server", "-n", ns, "-o", "json", "--kubeconfig", await c.kubeconfigFor(ns, "tapper")]);
      running.push(tapper);
      await waitFor("live requests in the tapper's tap", () => {
        if (tapper.child.exitCode !== null) throw new StopWaiting(`weft tap exited ${tapper.child.exitCode}: ${tapper.stderr()}`);
        return tapper.seen.length > 0;
      }, { timeoutMs: 60_000, intervalMs: 100 });

      const nobody = startTap(["deploy/server", "-n", ns, "-o", "json", "--kubeconfig", await c.kubeconfigFor(ns, "nobody")]);
      running.push(nobody);
      const code = await Promise.race([nobody.exited, new Promise<number>((r) => setTimeout(() => r(-1), 30_000))]);
      console.log(`      refused: ${nobody.stderr().trim()}`);
      assert.notEqual(code, 0, "weft tap fails for a user without tap RBAC");
      assert.notEqual(code, -1, "and ends by itself");
      assert.equal(nobody.seen.length, 0);
      assert.match(nobody.stderr(), /^weft tap: forbidden: /);
      assert.match(nobody.stderr(), new RegExp(`system:serviceaccount:${ns}:nobody`));
      assert.match(nobody.stderr(), /deployments\/tap/);
      assert.match(nobody.stderr(), /tap\.weft\.io/);
    });
  });
}
