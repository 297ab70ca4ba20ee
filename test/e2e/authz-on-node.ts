// Authorization end to end on the real node (issue 17), run inside
// mesh-on-node.test.ts's install so the e2e files share one node and one
// chart: two clients with different ServiceAccounts call one server over
// HTTP, gRPC and opaque TCP while AuthorizationPolicies are applied and
// deleted. One client (alice) is allowed throughout, and its request log
// proves that no request it sent failed while policies changed around it.
import assert from "node:assert/strict";
import { CoreV1Api, CustomObjectsApi, type V1Pod } from "@kubernetes/client-node";
import type { TestCluster } from "../cluster/cluster.ts";
import { waitFor } from "../support/wait.ts";
import { weft } from "./weft-cli.ts";

const GROUP = "policy.weft.io";
const VERSION = "v1alpha1";
const PLURAL = "authorizationpolicies";

interface Probe {
  status?: number;
  body?: string;
  error?: string;
}

export function describeAuthorization(getCluster: () => TestCluster): void {
  describe("authorization on the node", function () {
    let ns = "";
    let serverIP = "";
    let core: CoreV1Api;
    let custom: CustomObjectsApi;
    const apply = (name: string, spec: object) =>
      custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: "AuthorizationPolicy", metadata: { name }, spec } });
    const remove = (name: string) => custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name });

    /** One HTTP request from a client pod's app container (through its proxy). */
    async function http(from: string, path: string): Promise<Probe> {
      const r = await getCluster().kubectl(["exec", "-n", ns, from, "-c", "app", "--", "node", "-e",
        `fetch("http://${serverIP}:8080${path}", { signal: AbortSignal.timeout(5000) }).then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })), (e) => console.log(JSON.stringify({ error: String(e) })))`]);
      return JSON.parse(r.stdout.trim().split("\n").pop() || `{"error":${JSON.stringify(r.stderr)}}`) as Probe;
    }
    async function grpcCall(from: string): Promise<{ code?: number; details?: string }> {
      const r = await getCluster().kubectl(["exec", "-n", ns, from, "-c", "app", "--", "node", "test/images/apps/grpc-unary.ts", `${serverIP}:9090`]);
      return JSON.parse(r.stdout.trim().split("\n").pop() || "{}") as { code?: number; details?: string };
    }
    /**
     * Opens a TCP connection to the server's banner port and reports what arrived and who ended the
     * connection: "peer" when it was closed from the other side, "timeout" when the probe gave up
     * after 3 s (so a refusal is told from a silent server, never inferred from the silence).
     */
    async function banner(from: string): Promise<{ got: string; ended: "peer" | "timeout" }> {
      const r = await getCluster().kubectl(["exec", "-n", ns, from, "-c", "app", "--", "node", "-e",
        `const s = require("node:net").connect(7000, "${serverIP}"); let got = ""; let ended = "peer"; s.on("data", (d) => { got += d; s.end(); }); s.on("error", () => {}); const t = setTimeout(() => { ended = "timeout"; s.destroy(); }, 3000); s.on("close", () => { clearTimeout(t); console.log(JSON.stringify({ got, ended })); });`]);
      return JSON.parse(r.stdout.trim() || '{"got":"","ended":"timeout"}') as { got: string; ended: "peer" | "timeout" };
    }
    async function authzCount(decision: string, policy: string): Promise<number> {
      const r = await getCluster().kubectl(["get", "--raw", `/api/v1/namespaces/${ns}/pods/server:4191/proxy/metrics`]);
      let total = 0;
      for (const line of r.stdout.split("\n")) {
        if (line.startsWith("weft_proxy_authz_total{") && line.includes(`decision="${decision}"`) && line.includes(`policy="${policy}"`)) total += Number(line.split(" ").pop());
      }
      return total;
    }

    before(async function () {
      this.timeout(600_000);
      const c = getCluster();
      core = c.kubeConfig.makeApiClient(CoreV1Api);
      custom = c.kubeConfig.makeApiClient(CustomObjectsApi);
      ns = await c.createNamespace("authz", { "weft.io/inject": "enabled" });
      for (const sa of ["alice", "bob", "server"]) await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
      const container = (name: string, args: string[]) => ({ name, image: "weft.test/apps:0.1.0", imagePullPolicy: "Never", args });
      const pod = (name: string, sa: string, containers: object[]): V1Pod => ({ metadata: { name, labels: { app: name } }, spec: { serviceAccountName: sa, terminationGracePeriodSeconds: 2, containers } as V1Pod["spec"] });
      await core.createNamespacedPod({ namespace: ns, body: pod("server", "server", [
        container("app", ["test/fixtures/apps/http-echo.ts", "--port", "8080", "--host", "0.0.0.0"]),
        container("grpc", ["test/fixtures/apps/grpc-echo.ts", "--port", "9090", "--host", "0.0.0.0"]),
        container("banner", ["test/fixtures/apps/banner.ts", "--port", "7000", "--host", "0.0.0.0"]),
      ]) });
      const svc = await core.createNamespacedService({ namespace: ns, body: { metadata: { name: "server" }, spec: { selector: { app: "server" }, ports: [
        { name: "http", port: 8080 }, { name: "grpc", port: 9090, appProtocol: "grpc" }, { name: "banner", port: 7000 },
      ] } } });
      serverIP = svc.spec?.clusterIP ?? "";
      // alice calls all along, twenty times a second: her log is the zero-failed-requests record.
      await core.createNamespacedPod({ namespace: ns, body: pod("alice", "alice", [container("app", ["test/images/apps/http-get.ts", `http://${serverIP}:8080/steady`, "--every", "50"])]) });
      await core.createNamespacedPod({ namespace: ns, body: pod("bob", "bob", [container("app", ["test/images/apps/http-get.ts", `http://${serverIP}:8080/steady`, "--every", "1000"])]) });
      for (const name of ["server", "alice", "bob"]) {
        await waitFor(`${name} Ready`, async () => {
          const p = await core.readNamespacedPod({ name, namespace: ns });
          return p.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True") === true;
        }, { timeoutMs: 300_000, intervalMs: 1000 });
      }
      await waitFor("both clients' requests through the mesh", async () => (await http("alice", "/")).status === 200 && (await http("bob", "/")).status === 200, { timeoutMs: 120_000, intervalMs: 1000 });
    });

    it("an ALLOW policy lets alice through and refuses bob, over HTTP and gRPC, within seconds", async () => {
      await apply("server-from-alice", { targetRefs: [{ kind: "Service", name: "server" }], rules: [{ from: [{ serviceAccounts: [`${ns}/alice`] }] }] });
      const applied = Date.now();
      let refused: Probe = {};
      await waitFor("bob refused", async () => (refused = await http("bob", "/")).status === 403, { timeoutMs: 30_000, intervalMs: 100 });
      console.log(`      bob refused ${Date.now() - applied} ms after the policy was created (including kubectl exec's own time)`);
      assert.equal(refused.body?.trim(), `forbidden by policy ${ns}/server-from-alice`);
      assert.equal((await http("alice", "/")).status, 200);
      const aliceGrpc = await grpcCall("alice");
      assert.equal(aliceGrpc.code, 0, JSON.stringify(aliceGrpc));
      const bobGrpc = await grpcCall("bob");
      assert.equal(bobGrpc.code, 7, JSON.stringify(bobGrpc));
      assert.match(bobGrpc.details ?? "", new RegExp(`${ns}/server-from-alice`));
    });

    it("weft authz lists the policy on the server, and weft authz check decides as the proxy did", async () => {
      const kubeconfig = getCluster().kubeconfigPath;
      const listed = await weft(["authz", "pod/server", "--kubeconfig", kubeconfig, "-n", ns, "-o", "json"]);
      assert.equal(listed.code, 0, listed.stderr);
      const view = JSON.parse(listed.stdout) as { default: { policy: string }; policies: { name: string; action: string; ports: string }[] };
      assert.equal(view.default.policy, "all-authenticated");
      assert.deepEqual(view.policies.map((p) => [p.name, p.action, p.ports]), [[`${ns}/server-from-alice`, "ALLOW", "7000,8080,9090"]]);
      const bob = await weft(["authz", "check", "--kubeconfig", kubeconfig, "-n", ns, "--from", `${ns}/bob`, "--to", "svc/server:8080", "--path", "/"]);
      assert.equal(bob.code, 5, bob.stdout + bob.stderr);
      assert.match(bob.stdout, new RegExp(`${ns}/server +8080 +DENY +${ns}/server-from-alice +no-allow-match`));
      const alice = await weft(["authz", "check", "--kubeconfig", kubeconfig, "-n", ns, "--from", `${ns}/alice`, "--to", "svc/server", "--grpc", "weft.test.Echo/Unary"]);
      assert.equal(alice.code, 0, alice.stdout + alice.stderr);
      assert.match(alice.stdout, new RegExp(`${ns}/server +9090 +ALLOW +${ns}/server-from-alice +allow-policy`));
    });

    it("a DENY on a path beats the ALLOW", async () => {
      await apply("no-admin", { action: "DENY", rules: [{ to: [{ paths: [{ prefix: "/admin/" }] }] }] });
      await waitFor("alice refused on /admin/", async () => (await http("alice", "/admin/keys")).status === 403, { timeoutMs: 30_000, intervalMs: 200 });
      assert.equal((await http("alice", "/")).status, 200);
      await remove("no-admin");
      await waitFor("alice allowed on /admin/ again", async () => (await http("alice", "/admin/keys")).status === 200, { timeoutMs: 30_000, intervalMs: 200 });
    });

    it("AUDIT refuses nothing and counts what it matches", async () => {
      await remove("server-from-alice");
      await waitFor("bob allowed again", async () => (await http("bob", "/")).status === 200, { timeoutMs: 30_000, intervalMs: 200 });
      await apply("audit-bob", { action: "AUDIT", rules: [{ from: [{ serviceAccounts: [`${ns}/bob`] }] }] });
      const policy = `${ns}/audit-bob`;
      await waitFor("bob's calls counted by the AUDIT policy", async () => (await http("bob", "/")).status === 200 && (await authzCount("audit", policy)) > 0, { timeoutMs: 30_000, intervalMs: 500 });
      assert.equal((await http("bob", "/")).status, 200);
      await remove("audit-bob");
    });

    it("alice, allowed throughout, saw no failed request while policies were applied and deleted", async () => {
      const logs = await getCluster().kubectl(["logs", "-n", ns, "alice", "-c", "app"]);
      const all = logs.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { status?: number; error?: string });
      // Her first calls can race the server's endpoint becoming ready; the record starts at her first answer.
      const attempts = all.slice(Math.max(0, all.findIndex((a) => a.status === 200)));
      const failed = attempts.filter((a) => a.status !== 200);
      console.log(`      alice: ${attempts.length} requests since her first answer, ${failed.length} failed (${all.length - attempts.length} before it)`);
      assert.ok(attempts.length >= 10, `alice kept calling: ${attempts.length} requests`);
      assert.deepEqual(failed, []);
    });

    it("the deny default refuses everything, opaque TCP included", async () => {
      assert.match((await banner("alice")).got, /^220 weft-banner ready/);
      const annotated = await getCluster().kubectl(["annotate", "namespace", ns, "config.weft.io/default-inbound-policy=deny"]);
      assert.equal(annotated.code, 0, annotated.stderr);
      await waitFor("HTTP refused by the default", async () => (await http("alice", "/")).status === 403, { timeoutMs: 30_000, intervalMs: 200 });
      const probe = await http("bob", "/");
      assert.equal(probe.status, 403);
      assert.equal(probe.body?.trim(), "forbidden by policy default:deny");
      assert.equal((await grpcCall("alice")).code, 7);
      assert.deepEqual(await banner("alice"), { got: "", ended: "peer" }, "the proxy closes the TCP connection before any byte of the banner");
    });
  });
}
