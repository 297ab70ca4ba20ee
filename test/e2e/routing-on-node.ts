// GAMMA routing end to end on the real node (issue 18), inside
// mesh-on-node.test.ts's install: an HTTPRoute whose parent is a Service splits
// a meshed client's calls 90/10 between two versions (measured over 1,000
// requests from inside the client pod), then moves to 0/100 while another
// client calls all along, and that client's log shows no failed request.
import assert from "node:assert/strict";
import { CoreV1Api, CustomObjectsApi, type V1Pod } from "@kubernetes/client-node";
import type { TestCluster } from "../cluster/cluster.ts";
import { waitFor } from "../support/wait.ts";

const GROUP = "gateway.networking.k8s.io";

interface Tally {
  by: Record<string, number>;
  failures: string[];
}

export function describeRouting(getCluster: () => TestCluster): void {
  describe("GAMMA routing on the node", function () {
    let ns = "";
    let url = "";
    let core: CoreV1Api;
    let custom: CustomObjectsApi;

    async function tally(count: number): Promise<Tally> {
      const r = await getCluster().kubectl(["exec", "-n", ns, "client", "-c", "app", "--", "node", "test/images/apps/tally.ts", url, String(count)]);
      return JSON.parse(r.stdout.trim().split("\n").pop() || `{"by":{},"failures":[${JSON.stringify(r.stderr)}]}`) as Tally;
    }
    /** The route names the client's proxy holds for the Service, from its admin /config. */
    async function clientProxyRoutes(): Promise<string[]> {
      const r = await getCluster().kubectl(["exec", "-n", ns, "client", "-c", "app", "--", "node", "-e",
        `fetch("http://127.0.0.1:4191/config").then((r) => r.json()).then((c) => console.log(JSON.stringify((c.snapshot?.routes ?? []).filter((x) => x.service === "${ns}/server").flatMap((x) => x.rules.map((r) => r.route)))), (e) => console.log("[]"))`]);
      return JSON.parse(r.stdout.trim() || "[]") as string[];
    }
    const route = (v1: number, v2: number) => ({
      apiVersion: `${GROUP}/v1`,
      kind: "HTTPRoute",
      metadata: { name: "canary" },
      spec: {
        parentRefs: [{ group: "", kind: "Service", name: "server", port: 8080 }],
        rules: [{ backendRefs: [{ name: "server-v1", port: 8080, weight: v1 }, { name: "server-v2", port: 8080, weight: v2 }] }],
      },
    });

    before(async function () {
      this.timeout(600_000);
      const c = getCluster();
      core = c.kubeConfig.makeApiClient(CoreV1Api);
      custom = c.kubeConfig.makeApiClient(CustomObjectsApi);
      ns = await c.createNamespace("routing", { "weft.io/inject": "enabled" });
      const pod = (name: string, labels: Record<string, string>, args: string[]): V1Pod => ({
        metadata: { name, labels },
        spec: { terminationGracePeriodSeconds: 2, containers: [{ name: "app", image: "weft.test/apps:0.1.0", imagePullPolicy: "Never", args }] },
      });
      for (const version of ["v1", "v2"]) {
        await core.createNamespacedPod({ namespace: ns, body: pod(`server-${version}`, { app: "server", version }, ["test/fixtures/apps/http-echo.ts", "--port", "8080", "--host", "0.0.0.0", "--name", version]) });
      }
      const service = (name: string, selector: Record<string, string>) =>
        core.createNamespacedService({ namespace: ns, body: { metadata: { name }, spec: { selector, ports: [{ name: "http", port: 8080 }] } } });
      const server = await service("server", { app: "server" });
      await service("server-v1", { app: "server", version: "v1" });
      await service("server-v2", { app: "server", version: "v2" });
      url = `http://${server.spec?.clusterIP ?? ""}:8080/`;
      await core.createNamespacedPod({ namespace: ns, body: pod("client", { app: "client" }, ["test/images/apps/http-get.ts", url, "--every", "1000000"]) });
      // Calls twenty times a second from before the route exists to the end: the zero-failed-requests record.
      await core.createNamespacedPod({ namespace: ns, body: pod("steady", { app: "steady" }, ["test/images/apps/http-get.ts", url, "--every", "50"]) });
      for (const name of ["server-v1", "server-v2", "client", "steady"]) {
        await waitFor(`${name} Ready`, async () => {
          const p = await core.readNamespacedPod({ name, namespace: ns });
          return p.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True") === true;
        }, { timeoutMs: 300_000, intervalMs: 1000 });
      }
      await waitFor("both versions answer through the Service", async () => {
        const t = await tally(20);
        return (t.by.v1 ?? 0) > 0 && (t.by.v2 ?? 0) > 0;
      }, { timeoutMs: 120_000, intervalMs: 1000 });
    });

    it("an HTTPRoute on the Service splits 1,000 requests 90/10 (within 3 points)", async function () {
      this.timeout(300_000);
      await custom.createNamespacedCustomObject({ group: GROUP, version: "v1", namespace: ns, plural: "httproutes", body: route(90, 10) });
      await waitFor("the route accepted in its status", async () => {
        const r = (await custom.getNamespacedCustomObject({ group: GROUP, version: "v1", namespace: ns, plural: "httproutes", name: "canary" })) as { status?: { parents?: { conditions?: { type: string; status: string }[] }[] } };
        return r.status?.parents?.some((p) => p.conditions?.some((c) => c.type === "Accepted" && c.status === "True")) === true;
      }, { timeoutMs: 30_000, intervalMs: 500 });
      // The client's proxy follows the route once its snapshot carries it: its own /config (loopback, so read
      // from inside the pod) says when. Without a route its balancer would favour the faster version, so the
      // split itself cannot be the signal.
      await waitFor("the route in the client proxy's snapshot", async () => (await clientProxyRoutes()).includes(`${ns}/canary`), { timeoutMs: 60_000, intervalMs: 500 });
      const t = await tally(1000);
      console.log(`      1,000 requests: ${JSON.stringify(t.by)}, ${t.failures.length} failed`);
      assert.deepEqual(t.failures, []);
      const share = ((t.by.v1 ?? 0) / 1000) * 100;
      assert.ok(Math.abs(share - 90) <= 3, `v1 got ${share}% (90 ± 3 expected): ${JSON.stringify(t.by)}`);
    });

    it("moves to 0/100 while traffic flows, with zero failed requests", async function () {
      this.timeout(300_000);
      await custom.replaceNamespacedCustomObject({
        group: GROUP, version: "v1", namespace: ns, plural: "httproutes", name: "canary",
        body: { ...route(0, 100), metadata: { name: "canary", resourceVersion: await resourceVersion() } },
      });
      await waitFor("the new weights in the client proxy's snapshot", async () => {
        const r = await getCluster().kubectl(["exec", "-n", ns, "client", "-c", "app", "--", "node", "-e",
          `fetch("http://127.0.0.1:4191/config").then((r) => r.json()).then((c) => console.log(JSON.stringify((c.snapshot?.routes ?? []).flatMap((x) => x.rules.flatMap((r) => r.backends.map((b) => b.weight))))))`]);
        return r.stdout.trim() === "[0,100]";
      }, { timeoutMs: 60_000, intervalMs: 500 });
      await waitFor("every request on v2", async () => {
        const t = await tally(50);
        return (t.by.v2 ?? 0) === 50;
      }, { timeoutMs: 60_000, intervalMs: 500 });
      const logs = await getCluster().kubectl(["logs", "-n", ns, "steady", "-c", "app"]);
      const all = logs.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { status?: number; error?: string });
      const since = all.slice(Math.max(0, all.findIndex((a) => a.status === 200)));
      const failed = since.filter((a) => a.status !== 200);
      console.log(`      steady client: ${since.length} requests across the split and the move, ${failed.length} failed`);
      assert.ok(since.length >= 40, `the steady client kept calling: ${since.length}`);
      assert.deepEqual(failed, []);
    });

    async function resourceVersion(): Promise<string> {
      const r = (await custom.getNamespacedCustomObject({ group: GROUP, version: "v1", namespace: ns, plural: "httproutes", name: "canary" })) as { metadata?: { resourceVersion?: string } };
      return r.metadata?.resourceVersion ?? "";
    }
  });
}
