// The tap API's front-proxy check on a real socket: only a client certificate
// signed by the requestheader CA, with an allowed CN, makes the X-Remote-* user
// count; anything else is 401 before any SubjectAccessReview is asked. Then the
// same server against the shared real apiserver: its published requestheader
// settings, its own front-proxy client certificate, and a real
// SubjectAccessReview deciding between a user bound to weft-tap-reader and one
// who is not.
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { systemClock } from "../../lib/clock.ts";
import { silentLogger } from "../../lib/log.ts";
import { subjectAccessReviewer, type RemoteUser, type TapReviewer, type TapTarget } from "../../control-plane/src/tap-authorize.ts";
import { readRequestHeaderAuth } from "../../control-plane/src/tap-kube.ts";
import { startTapServer, type RequestHeaderAuth, type TapServer } from "../../control-plane/src/tap-server.ts";
import { FRONT_PROXY_CLIENT_NAME, writeFrontProxyCa, writeFrontProxyClient, type CertFiles } from "../cluster/front-proxy-pki.ts";
import { selfSignedCertificate } from "../cluster/self-signed.ts";
import { kubernetesBinariesAvailable, useCluster } from "../cluster/cluster.ts";

interface Answer {
  status: number;
  body: { kind?: string; message?: string; reason?: string };
}

const SERVING = selfSignedCertificate();
const TAP_PATH = (ns: string) => `/apis/tap.weft.io/v1alpha1/watch/namespaces/${ns}/deployments/server/tap`;

function call(port: number, path: string, client: CertFiles | undefined, headers: Record<string, string> = {}, method = "POST"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: "127.0.0.1", port, path, method,
      ca: SERVING.cert,
      ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
      headers: { "content-type": "application/json", ...headers },
      agent: false,
    }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || "{}") as Answer["body"] }));
    });
    req.on("error", reject);
    req.end(method === "POST" ? "{}" : undefined);
  });
}

async function startServer(requestHeader: RequestHeaderAuth, review: TapReviewer): Promise<TapServer> {
  return startTapServer({
    host: "127.0.0.1",
    port: 0,
    tls: () => undefined,
    serving: () => ({ keyPem: SERVING.key, certChainPem: SERVING.cert }),
    requestHeader: () => requestHeader,
    review,
    // No pod: a request that gets past authorization ends in 404 "no running meshed pod".
    cluster: { pods: () => Promise.resolve([]), destinations: () => Promise.resolve({ services: [], identities: [] }) },
    trustDomain: "cluster.local",
    clock: systemClock,
    logger: silentLogger(),
  });
}

describe("tap API: the front-proxy check on a real socket", () => {
  let dir: string;
  let server: TapServer;
  let good: CertFiles;
  let wrongName: CertFiles;
  let otherCa: CertFiles;
  const reviewed: { who: RemoteUser; target: TapTarget }[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "weft-tap-fp-"));
    const ca = writeFrontProxyCa(dir);
    good = writeFrontProxyClient(dir, ca, FRONT_PROXY_CLIENT_NAME);
    wrongName = writeFrontProxyClient(dir, ca, "kube-apiserver-impostor");
    otherCa = writeFrontProxyClient(dir, writeFrontProxyCa(dir, "other-ca"), FRONT_PROXY_CLIENT_NAME, "other-client");
    const auth: RequestHeaderAuth = {
      clientCaPem: readFileSync(ca.cert, "utf8"),
      allowedNames: [FRONT_PROXY_CLIENT_NAME],
      userHeaders: ["X-Remote-User"],
      groupHeaders: ["X-Remote-Group"],
      extraHeaderPrefixes: ["X-Remote-Extra-"],
    };
    server = await startServer(auth, (who, target) => {
      reviewed.push({ who, target });
      return Promise.resolve(who.user === "alice" ? { allowed: true, reason: "bound" } : { allowed: false, reason: "" });
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => (reviewed.length = 0));

  const alice = { "X-Remote-User": "alice", "X-Remote-Group": "dev", "X-Remote-Extra-Scopes": "view" };

  it("refuses a caller without a client certificate, whatever X-Remote-User says", async () => {
    const a = await call(server.port, TAP_PATH("app"), undefined, alice);
    assert.equal(a.status, 401);
    assert.match(a.body.message ?? "", /only the apiserver may call the tap API: no client certificate/);
    assert.deepEqual(reviewed, [], "no SubjectAccessReview for an unauthenticated caller");
  });

  it("refuses a certificate with the right CN from another CA", async () => {
    const a = await call(server.port, TAP_PATH("app"), otherCa, alice);
    assert.equal(a.status, 401);
    assert.match(a.body.message ?? "", /not signed by the requestheader CA/);
    assert.deepEqual(reviewed, []);
  });

  it("refuses a certificate from the requestheader CA with a CN not allowed", async () => {
    const a = await call(server.port, TAP_PATH("app"), wrongName, alice);
    assert.equal(a.status, 401);
    assert.match(a.body.message ?? "", /CN "kube-apiserver-impostor" is not an allowed requestheader name/);
    assert.deepEqual(reviewed, []);
    assert.equal((await call(server.port, "/apis/tap.weft.io/v1alpha1", wrongName, {}, "GET")).status, 401, "discovery too");
  });

  it("with the front proxy's certificate, takes the user, groups and extras from X-Remote-* and asks about them", async () => {
    const a = await call(server.port, TAP_PATH("app"), good, alice);
    assert.equal(a.status, 404, JSON.stringify(a.body));
    assert.match(a.body.message ?? "", /no running meshed pod for deployments\/server in namespace app/);
    assert.deepEqual(reviewed, [{ who: { user: "alice", groups: ["dev"], extra: { scopes: ["view"] } }, target: { namespace: "app", kind: "deployments", name: "server" } }]);
  });

  it("with the front proxy's certificate, refuses the user the review refuses (403) and a request naming no user (401)", async () => {
    const bob = await call(server.port, TAP_PATH("app"), good, { "X-Remote-User": "bob" });
    assert.equal(bob.status, 403);
    assert.match(bob.body.message ?? "", /user "bob" cannot watch deployments\/tap "server" in namespace "app": needs watch on deployments\/tap in tap\.weft\.io/);
    const nobody = await call(server.port, TAP_PATH("app"), good, { "X-Remote-Group": "system:masters" });
    assert.equal(nobody.status, 401);
    assert.equal(reviewed.length, 1, "only bob was reviewed");
  });

  it("serves API discovery to the front proxy", async () => {
    const a = await call(server.port, "/apis/tap.weft.io/v1alpha1", good, {}, "GET");
    assert.equal(a.status, 200);
    assert.equal(a.body.kind, "APIResourceList");
  });
});

describe("tap API: against the real apiserver's aggregation layer settings and SubjectAccessReview", function () {
  this.timeout(120_000);
  before(function () {
    if (!kubernetesBinariesAvailable()) this.skip();
  });
  const cluster = useCluster();

  it("trusts the apiserver's own front-proxy certificate, and the real review decides", async () => {
    const c = cluster();
    const auth = await readRequestHeaderAuth(c.kubeConfig);
    assert.ok(auth, "the apiserver publishes a requestheader CA in kube-system/extension-apiserver-authentication");
    assert.deepEqual(auth.allowedNames, [FRONT_PROXY_CLIENT_NAME]);
    assert.deepEqual([auth.userHeaders, auth.groupHeaders, auth.extraHeaderPrefixes], [["X-Remote-User"], ["X-Remote-Group"], ["X-Remote-Extra-"]]);
    const ns = await c.createNamespace("tap-fp");
    const rbac = c.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const role = `weft-tap-reader-${ns}`;
    await rbac.createClusterRole({ body: { metadata: { name: role }, rules: [{ apiGroups: ["tap.weft.io"], resources: ["deployments/tap"], verbs: ["watch"] }] } });
    await rbac.createNamespacedRoleBinding({ namespace: ns, body: { metadata: { name: "alice-taps" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role }, subjects: [{ kind: "User", name: "alice", apiGroup: "rbac.authorization.k8s.io" }] } });
    const server = await startServer(auth, subjectAccessReviewer(c.kubeConfig));
    try {
      const alice = await call(server.port, TAP_PATH(ns), c.frontProxyClient, { "X-Remote-User": "alice", "X-Remote-Group": "system:authenticated" });
      assert.equal(alice.status, 404, JSON.stringify(alice.body));
      const bob = await call(server.port, TAP_PATH(ns), c.frontProxyClient, { "X-Remote-User": "bob", "X-Remote-Group": "system:authenticated" });
      assert.equal(bob.status, 403, JSON.stringify(bob.body));
      assert.match(bob.body.message ?? "", /needs watch on deployments\/tap in tap\.weft\.io/);
      const forged = await call(server.port, TAP_PATH(ns), undefined, { "X-Remote-User": "alice" });
      assert.equal(forged.status, 401);
    } finally {
      await server.close();
      await rbac.deleteClusterRole({ name: role });
    }
  });
});
