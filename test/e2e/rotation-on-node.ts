// The live trust-anchor and issuer rotation on the real node (issue 21), inside
// mesh-on-node.test.ts's install, while a meshed fortio sends a fixed rate of GETs
// to a 2-replica meshed server: with leaves shortened to 5 minutes, `weft identity`
// against the chart's Secret and ConfigMaps adds anchor B, switches to an issuer B
// signed, asks for renew now and removes the chart's anchor A. Asserts zero non-2xx
// answers and zero connection errors, that every proxy of the test ends trusting B
// only with a leaf from B's issuer, and that a peer with an A-signed leaf is refused;
// records p99 during against a baseline just before (docs/operations-rotation.md).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { AppsV1Api, CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { importImages } from "../../images/import.ts";
import { meshedPodFacts } from "../../cli/src/check-gather-proxies.ts";
import type { TestCluster } from "../cluster/cluster.ts";
import { CHART, helm } from "../chart/helm.ts";
import { waitFor } from "../support/wait.ts";
import { fingerprintOf, leafFrom, tryInbound } from "../rotation/rotation-harness.ts";
import { FORTIO_API_PORT, FORTIO_IMAGE, FORTIO_SERVER_ARGS, FortioClient, fortioImageArchive, type LoadOptions } from "./fortio-load.ts";
import { weft } from "./weft-cli.ts";

const NS = "weft-system";
const QPS = 100;
const CONNECTIONS = 4;
const BASELINE_S = 15;
/** The load runs at least this long, the rotation inside it. */
const WINDOW_MS = 60_000;
const ready = (pod: V1Pod): boolean => pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

interface PodTrust {
  pod: string;
  namespace: string;
  anchors: string[];
  issuer: string | null;
}

export function describeRotation(getCluster: () => TestCluster): void {
  describe("live trust-anchor and issuer rotation under load", function () {
    let ns = "";
    let work = "";
    let load: FortioClient;
    let loadOptions: LoadOptions;
    let serverIP = "";
    const c = (): TestCluster => getCluster();
    const core = (): CoreV1Api => c().kubeConfig.makeApiClient(CoreV1Api);
    const apps = (): AppsV1Api => c().kubeConfig.makeApiClient(AppsV1Api);
    const cli = async (args: string[]): Promise<string> => {
      const r = await weft(args);
      assert.equal(r.code, 0, `weft ${args.join(" ")}: ${r.stdout}${r.stderr}`);
      return r.stdout;
    };
    const target = (): string[] => ["--kubernetes", "--kubeconfig", c().kubeconfigPath, "-n", NS];

    /** What each meshed proxy in the cluster reports (its /metrics through the apiserver, as weft check reads it). */
    async function trustOfPods(): Promise<PodTrust[]> {
      const facts = await meshedPodFacts(c().kubeConfig);
      if (facts instanceof Error) throw facts;
      // An earlier suite's namespace being deleted takes its pods down with it: they are not the mesh's any more.
      const leaving = new Set((await core().listNamespace()).items.filter((n) => n.status?.phase === "Terminating").map((n) => n.metadata?.name ?? ""));
      return facts.filter((f) => !leaving.has(f.namespace)).map((f) => {
        if (f.proxy instanceof Error) return { pod: f.pod, namespace: f.namespace, anchors: [], issuer: null };
        return { pod: f.pod, namespace: f.namespace, anchors: [...(f.proxy.anchors ?? [])].sort(), issuer: f.proxy.issuer ?? null };
      });
    }

    /**
     * Every proxy of the mesh, not only the test's three: the earlier suites' pods have lived
     * through control-plane rollouts and the loss of a replica, and must follow the rotation too.
     * When one does not, says what the control plane's replicas and the laggards' proxies report.
     */
    async function waitForPods(what: string, check: (t: PodTrust) => boolean): Promise<number> {
      const t0 = Date.now();
      let last: PodTrust[] = [];
      // When each proxy was first seen to follow: the slowest are named in the log.
      const followedAt = new Map<string, number>();
      try {
        await waitFor(what, async () => {
          last = await trustOfPods();
          for (const t of last) if (check(t) && !followedAt.has(`${t.namespace}/${t.pod}`)) followedAt.set(`${t.namespace}/${t.pod}`, (Date.now() - t0) / 1000);
          return last.filter((t) => t.namespace === ns).length === 3 && last.every(check);
        }, { timeoutMs: 180_000, intervalMs: 1000 });
        const slowest = [...followedAt].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([pod, sec]) => `${pod} ${sec.toFixed(1)} s`);
        console.log(`      ${what}: ${last.length} proxies; the last to follow: ${slowest.join(", ")}`);
      } catch (err) {
        const laggards = last.filter((t) => !check(t));
        throw new Error(`${(err as Error).message}; ${laggards.length} of ${last.length} proxies behind: ${JSON.stringify(laggards.slice(0, 5))}\n${await diagnose(laggards)}`);
      }
      return (Date.now() - t0) / 1000;
    }

    /** The control plane's view of the trust streams, and what proxies that did not follow logged about trust. */
    async function diagnose(laggards: PodTrust[]): Promise<string> {
      const lines: string[] = [];
      for (const p of await controlPlanePods()) {
        const name = p.metadata?.name ?? "";
        const text = await controlPlaneMetrics(p).catch((e: unknown) => String(e));
        const metric = (m: string): string => new RegExp(`^${m}(\\{[^}]*\\})? (\\S+)`, "m").exec(text)?.slice(1).join(" ") ?? "-";
        lines.push(`control plane ${name} (${p.status?.podIP ?? ""}): trust streams ${metric("weft_identity_trust_streams")}, updates sent ${metric("weft_identity_trust_updates_total")}, issuer loads ${metric("weft_identity_issuer_reloads_total\\{result=\"loaded\"\\}")}`);
      }
      for (const t of laggards.slice(0, 3)) {
        const logs = await c().kubectl(["logs", "-n", t.namespace, t.pod, "-c", "weft-proxy", "--tail", "2000"]);
        const trustLines = logs.stdout.split("\n").filter((l) => /trust|identity|certif/i.test(l)).slice(-8);
        lines.push(`${t.namespace}/${t.pod}:\n  ${trustLines.join("\n  ") || logs.stderr.trim()}`);
      }
      return lines.join("\n");
    }

    /** A control-plane replica's /metrics, through the apiserver. */
    function controlPlaneMetrics(pod: V1Pod): Promise<string> {
      return core().connectGetNamespacedPodProxyWithPath({ name: `${pod.metadata?.name ?? ""}:9990`, namespace: NS, path: "metrics" });
    }

    async function controlPlanePods(): Promise<V1Pod[]> {
      return (await core().listNamespacedPod({ namespace: NS, labelSelector: "app.kubernetes.io/component=control-plane" })).items.filter((p) => p.metadata?.deletionTimestamp === undefined && ready(p));
    }

    /** Issuer loads counted by each Ready control-plane replica, by pod name. */
    async function controlPlaneLoads(): Promise<Map<string, number>> {
      const loads = new Map<string, number>();
      for (const p of await controlPlanePods()) {
        const text = await controlPlaneMetrics(p);
        loads.set(p.metadata?.name ?? "", Number(/^weft_identity_issuer_reloads_total\{result="loaded"\} (\d+)/m.exec(text)?.[1] ?? 0));
      }
      return loads;
    }

    before(async function () {
      this.timeout(600_000);
      work = mkdtempSync(join(tmpdir(), "weft-rotation-node-"));
      await importImages(join(dirname(c().kubeconfigPath), "node", "containerd.sock"), fortioImageArchive());
      // Leaves of 5 minutes: the rotation runs while proxies also renew on their own schedule. Two
      // control-plane replicas, as an HA install runs: each reads the CA on its own and streams to its proxies.
      const up = helm(["upgrade", "weft", CHART, "-n", NS, "--reuse-values", "--set", "identity.leafLifetime=5m", "--set", "controlPlane.replicas=2", "--kubeconfig", c().kubeconfigPath]);
      assert.equal(up.code, 0, up.stderr);
      const r = await c().kubectl(["rollout", "status", "-n", NS, "deployment/weft-control-plane", "--timeout", "240s"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      ns = await c().createNamespace("rotation", { "weft.io/inject": "enabled" });
      for (const sa of ["load", "server"]) await core().createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
      await apps().createNamespacedDeployment({
        namespace: ns,
        body: {
          metadata: { name: "server" },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: "server" } },
            template: {
              metadata: { labels: { app: "server" } },
              spec: {
                serviceAccountName: "server",
                terminationGracePeriodSeconds: 10,
                containers: [{ name: "app", image: "weft.test/apps:0.1.0", imagePullPolicy: "Never", args: ["test/fixtures/apps/http-echo.ts", "--port", "8080", "--host", "0.0.0.0"], readinessProbe: { httpGet: { path: "/status/200", port: 8080 }, periodSeconds: 2 } }],
              },
            },
          },
        },
      });
      const svc = await core().createNamespacedService({ namespace: ns, body: { metadata: { name: "server" }, spec: { selector: { app: "server" }, ports: [{ name: "http", port: 8080 }] } } });
      await core().createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: "load", labels: { app: "load" }, annotations: { "config.weft.io/skip-inbound-ports": String(FORTIO_API_PORT) } },
          spec: { serviceAccountName: "load", containers: [{ name: "fortio", image: FORTIO_IMAGE, imagePullPolicy: "Never", args: FORTIO_SERVER_ARGS, readinessProbe: { httpGet: { path: "/fortio/", port: FORTIO_API_PORT }, periodSeconds: 2 } }] },
        },
      });
      await waitFor("2 server replicas ready", async () => ((await apps().readNamespacedDeployment({ name: "server", namespace: ns })).status?.readyReplicas ?? 0) === 2, { timeoutMs: 300_000, intervalMs: 1000 });
      const loadPod = await waitFor("the load pod Ready", async () => {
        const p = await core().readNamespacedPod({ name: "load", namespace: ns });
        return ready(p) ? p : undefined;
      }, { timeoutMs: 300_000, intervalMs: 1000 });
      load = new FortioClient(loadPod.status?.podIP ?? "");
      loadOptions = { url: `http://${svc.spec?.clusterIP ?? ""}:8080/`, qps: QPS, connections: CONNECTIONS };
      const servers = (await core().listNamespacedPod({ namespace: ns, labelSelector: "app=server" })).items;
      serverIP = servers[0]?.status?.podIP ?? "";
      await waitFor("a clean short run through the mesh", async () => {
        const run = await load.run(loadOptions, 2);
        return run.requests > 0 && run.ok === run.requests;
      }, { timeoutMs: 120_000, intervalMs: 2000 });
    });

    after(async function () {
      this.timeout(120_000);
      if (ns !== "") await c().kubectl(["delete", "namespace", ns, "--wait=false"]);
      if (work !== "") rmSync(work, { recursive: true, force: true });
    });

    it("rotates the chart's anchor to a new one with weft identity while fortio load flows: no non-2xx, no connection error", async function () {
      this.timeout(900_000);
      // The chart's trial CA (anchor A, which is also its issuer), kept to mint a peer the mesh must refuse at the end.
      const secret = await core().readNamespacedSecret({ name: "weft-identity-issuer", namespace: NS });
      const oldIssuer = join(work, "issuer-a");
      mkdirSync(oldIssuer);
      for (const f of ["ca.crt", "issuer.crt", "issuer.key"]) writeFileSync(join(oldIssuer, f), Buffer.from(secret.data?.[f] ?? "", "base64"));
      const anchorA = fingerprintOf(join(oldIssuer, "ca.crt"));
      await waitForPods("every proxy of the test to trust A", (t) => t.anchors.length === 1 && t.anchors[0] === anchorA);

      const baseline = await load.run(loadOptions, BASELINE_S);
      assert.equal(baseline.ok, baseline.requests, `the baseline already failed: ${JSON.stringify(baseline.codes)}`);
      const run = await load.start(loadOptions);
      const t0 = Date.now();
      const steps: string[] = [];
      let opError: unknown;
      try {
        const b = join(work, "anchor-b");
        await cli(["identity", "anchor", "--out", b]);
        const anchorB = fingerprintOf(join(b, "ca.crt"));
        await cli(["identity", "bundle", "add", join(b, "ca.crt"), ...target()]);
        steps.push(`B trusted by every proxy ${(await waitForPods("every proxy to trust A and B", (t) => t.anchors.length === 2 && t.anchors.includes(anchorB))).toFixed(1)} s after bundle add`);

        const issuerB = join(work, "issuer-b");
        await cli(["identity", "issuer", "--anchor-dir", b, "--out", issuerB]);
        const issuerBFingerprint = fingerprintOf(join(issuerB, "issuer.crt"));
        const loadsBefore = await controlPlaneLoads();
        const switched = Date.now();
        await cli(["identity", "switch-issuer", "--issuer-dir", issuerB, ...target()]);
        // As the runbook says: renew once every replica signs with B (weft identity status shows it too).
        await waitFor("every control-plane replica to load B's issuer", async () => {
          const now = await controlPlaneLoads();
          return [...loadsBefore].every(([pod, n]) => (now.get(pod) ?? n) > n);
        }, { timeoutMs: 180_000, intervalMs: 1000 });
        steps.push(`issuer loaded by both replicas ${((Date.now() - switched) / 1000).toFixed(1)} s after switch-issuer`);

        await cli(["identity", "renew", ...target()]);
        steps.push(`leaves from B's issuer in every proxy ${(await waitForPods("every proxy to hold a leaf from B's issuer", (t) => t.issuer === issuerBFingerprint)).toFixed(1)} s after renew`);

        await cli(["identity", "bundle", "remove", anchorA, ...target()]);
        steps.push(`A dropped by every proxy ${(await waitForPods("every proxy to trust B only", (t) => t.anchors.length === 1 && t.anchors[0] === anchorB)).toFixed(1)} s after bundle remove`);

        const identity = { trustDomain: "cluster.local", namespace: ns, serviceAccount: "load" };
        assert.equal(await tryInbound(8080, await leafFrom(issuerB, identity), serverIP), "answered", "a peer with a B-signed leaf is served (control)");
        const refused = await tryInbound(8080, await leafFrom(oldIssuer, identity), serverIP);
        assert.notEqual(refused, "answered", "a peer with an A-signed leaf is refused");
        steps.push(`A-signed peer: ${refused}`);
      } catch (err) {
        opError = err;
      }
      const rotationSeconds = (Date.now() - t0) / 1000;
      // The load runs on past the rotation to the end of its window: the mesh settles under load.
      await new Promise((r) => setTimeout(r, Math.max(WINDOW_MS - (Date.now() - t0), 5_000)));
      const during = await load.stop(run);
      if (opError !== undefined) throw opError;
      console.log(`      rotation: ${steps.join("; ")}; whole rotation ${rotationSeconds.toFixed(1)} s`);
      console.log(`      load: ${during.requests} requests in ${during.seconds.toFixed(1)} s (${during.qps.toFixed(1)} qps), codes ${JSON.stringify(during.codes)}; p99 ${during.p99Ms.toFixed(1)} ms during vs ${baseline.p99Ms.toFixed(1)} ms before`);
      assert.equal(during.connectionErrors, 0, `connection errors: ${JSON.stringify(during.codes)}`);
      assert.equal(during.non2xx, 0, `non-2xx answers: ${JSON.stringify(during.codes)}`);
      assert.equal(during.ok, during.requests);
      const check = await weft(["check", "--kubeconfig", c().kubeconfigPath, "-n", NS, "-o", "json"]);
      const trust = (JSON.parse(check.stdout) as { checks: { name: string; ok: boolean; message: string }[] }).checks.find((x) => x.name === "proxy-trust");
      console.log(`      weft check proxy-trust: ${trust?.message ?? "(missing)"}`);
      assert.ok(trust?.ok, trust?.message);
    });
  });
}
