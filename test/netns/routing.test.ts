// Routes (GAMMA) with real capture: an unmodified client in a client pod calls
// one Service's cluster IP, and its proxy sends each request to the pod the
// route picks (two server pods, each with its own proxy), through iptables and
// mTLS as on a node (the loopback version is test/sidecar/proxy-routing.test.ts).
import assert from "node:assert/strict";
import { createTestMesh, issueTestLeaf } from "../fixtures/mesh-pki.ts";
import { NetnsLab, skipWithoutNetns } from "./lab.ts";
import { APP_UID, PodFiles, startApps, startMeshedProxy } from "./mesh-pods.ts";

const SVC = { echo: "10.250.202.1", v1: "10.250.202.2", v2: "10.250.202.3" };
const APP_PORT = 8090;

function snapshot(v1: string, v2: string, identity: string): unknown {
  const ports = [{ name: "http", port: 80, protocol: "TCP" }];
  const endpoint = (address: string) => ({ address, ready: true, serving: true, meshed: true, identity, zone: "z", ports: { http: APP_PORT } });
  const backend = (service: string) => ({ route: "test/canary", kind: "HTTPRoute", backends: [{ service, weight: 1 }] });
  return {
    version: "routing-1",
    full: true,
    services: [
      { namespace: "test", name: "echo", clusterIps: [SVC.echo], ports, endpoints: [endpoint(v1)] },
      { namespace: "test", name: "v1", clusterIps: [SVC.v1], ports, endpoints: [endpoint(v1)] },
      { namespace: "test", name: "v2", clusterIps: [SVC.v2], ports, endpoints: [endpoint(v2)] },
    ],
    policy: { inbound: { mode: "STRICT" }, clientDefaults: { retry: { enabled: false } } },
    routes: [
      {
        service: "test/echo",
        rules: [
          backend("test/v2"),
          { ...backend("test/v2"), filters: [{ urlRewrite: { path: { type: "REPLACE_PREFIX_MATCH", value: "/new" } } }] },
          backend("test/v1"),
        ],
        matches: [
          { rule: 0, path: { type: "PREFIX", value: "/" }, headers: [{ name: "x-canary", value: "yes" }] },
          { rule: 1, path: { type: "PREFIX", value: "/old" } },
          { rule: 2, path: { type: "PREFIX", value: "/api" } },
        ],
      },
    ],
  };
}

describe("routes in network namespaces: an unmodified client's calls to a Service go where its route says", function () {
  this.timeout(120_000);
  const lab = new NetnsLab();
  const files = new PodFiles();
  let client = "";
  const curl = (...args: string[]): string => lab.exec(client, "curl", ["-sS", "--max-time", "15", ...args], { uid: APP_UID });

  before(async function () {
    skipWithoutNetns(this);
    client = lab.namespace("rcli");
    const v1 = lab.namespace("rv1");
    const v2 = lab.namespace("rv2");
    const l1 = lab.link(client, v1);
    const l2 = lab.link(client, v2);
    // The cluster IPs need a route for the client's connect; capture takes the connection before it leaves.
    lab.exec(client, "ip", ["route", "add", "10.250.202.0/24", "dev", l1.aIf]);
    const mesh = await createTestMesh();
    const clientLeaf = await issueTestLeaf(mesh, { namespace: "test", serviceAccount: "client" });
    const serverLeaf = await issueTestLeaf(mesh, { namespace: "test", serviceAccount: "server" });
    const snap = snapshot(l1.bAddr, l2.bAddr, serverLeaf.spiffeId);
    await startApps(lab, v1, ["--name", "v1", "--http1", String(APP_PORT)]);
    await startApps(lab, v2, ["--name", "v2", "--http1", String(APP_PORT)]);
    await Promise.all([
      startMeshedProxy({ lab, ns: v1, files, name: "v1", mesh, leaf: serverLeaf, snapshot: snap }),
      startMeshedProxy({ lab, ns: v2, files, name: "v2", mesh, leaf: serverLeaf, snapshot: snap }),
      startMeshedProxy({ lab, ns: client, files, name: "client", mesh, leaf: clientLeaf, snapshot: snap }),
    ]);
  });

  after(async () => {
    await lab.cleanup();
    files.remove();
  });

  const who = (out: string): { who: string; path: string } => JSON.parse(out) as { who: string; path: string };

  it("routes by header: x-canary: yes to v2, the rest of /api to v1", () => {
    assert.equal(who(curl("-H", "x-canary: yes", `http://${SVC.echo}/api/x`)).who, "v2");
    assert.equal(who(curl(`http://${SVC.echo}/api/x`)).who, "v1");
  });

  it("rewrites the path prefix on the way to v2", () => {
    const r = who(curl(`http://${SVC.echo}/old/thing?q=1`));
    assert.deepEqual([r.who, r.path], ["v2", "/new/thing?q=1"]);
  });

  it("answers 404 when no route matches", () => {
    assert.equal(curl("-o", "/dev/null", "-w", "%{http_code}", `http://${SVC.echo}/elsewhere`), "404");
  });
});
