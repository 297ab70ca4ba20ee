// The tap API's authorization path: the path and the user the apiserver's
// front proxy names (pure), and the SubjectAccessReview decision against the
// shared real kube-apiserver: a user bound to weft-tap-reader may tap pods and
// Deployments of the namespace it is bound in, nobody else, with a message
// naming the permission that is missing.
import { strict as assert } from "node:assert";
import { RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { forbiddenMessage, parseTapPath, remoteUser, subjectAccessReviewer, tapAccessReview } from "../../control-plane/src/tap-authorize.ts";
import { kubernetesBinariesAvailable, useCluster } from "../cluster/cluster.ts";

const HEADERS = { user: ["X-Remote-User"], group: ["X-Remote-Group"], extraPrefix: ["X-Remote-Extra-"] };

describe("tap API: paths and the front proxy's user", () => {
  it("parses the resources it serves and nothing else", () => {
    assert.deepEqual(parseTapPath("/apis/tap.weft.io/v1alpha1/watch/namespaces/app/deployments/server/tap"), { ok: true, value: { namespace: "app", kind: "deployments", name: "server" } });
    assert.deepEqual(parseTapPath("/apis/tap.weft.io/v1alpha1/watch/namespaces/app/tap?x=1"), { ok: true, value: { namespace: "app", kind: "namespaces", name: "app" } });
    for (const bad of ["/apis/tap.weft.io/v1alpha1/watch/namespaces/app/secrets/x/tap", "/apis/tap.weft.io/v1alpha1/watch/namespaces/App/pods/x/tap", "/api/v1/namespaces/app/pods/x", "/apis/tap.weft.io/v1alpha1/watch/namespaces/app/pods/x", "/apis/tap.weft.io/v1alpha1/namespaces/app/pods/x/tap"]) {
      assert.equal(parseTapPath(bad).ok, false, bad);
    }
  });

  it("reads user, groups and extras; no user is no request", () => {
    const who = remoteUser({ "x-remote-user": "alice", "x-remote-group": ["dev", "system:authenticated"], "x-remote-extra-scopes": "a" }, HEADERS);
    assert.deepEqual(who, { ok: true, value: { user: "alice", groups: ["dev", "system:authenticated"], extra: { scopes: ["a"] } } });
    assert.equal(remoteUser({ "x-remote-group": "dev" }, HEADERS).ok, false);
    const review = tapAccessReview({ user: "alice", groups: [], extra: {} }, { namespace: "app", kind: "pods", name: "p" });
    assert.deepEqual(review.spec.resourceAttributes, { group: "tap.weft.io", version: "v1alpha1", resource: "pods", subresource: "tap", verb: "watch", namespace: "app", name: "p" });
    assert.match(forbiddenMessage({ user: "bob", groups: [], extra: {} }, { namespace: "app", kind: "deployments", name: "server" }), /needs watch on deployments\/tap in tap\.weft\.io/);
  });
});

describe("tap API: the SubjectAccessReview against a real apiserver", function () {
  this.timeout(120_000);
  before(function () {
    if (!kubernetesBinariesAvailable()) this.skip();
  });
  const cluster = useCluster();

  it("allows a user bound to weft-tap-reader in its namespace and refuses the rest", async () => {
    const c = cluster();
    const ns = await c.createNamespace("tap");
    const other = await c.createNamespace("tap-other");
    const rbac = c.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const role = `weft-tap-reader-${ns}`;
    // The chart's ClusterRole (charts/weft/templates/tap.yaml), bound in one namespace.
    await rbac.createClusterRole({ body: { metadata: { name: role }, rules: [{ apiGroups: ["tap.weft.io"], resources: ["pods/tap", "deployments/tap", "services/tap", "namespaces/tap"], verbs: ["watch"] }] } });
    await rbac.createNamespacedRoleBinding({ namespace: ns, body: { metadata: { name: "alice-taps" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role }, subjects: [{ kind: "User", name: "alice", apiGroup: "rbac.authorization.k8s.io" }] } });
    const review = subjectAccessReviewer(c.kubeConfig);
    const alice = { user: "alice", groups: ["system:authenticated"], extra: {} };
    const bob = { user: "bob", groups: ["system:authenticated"], extra: {} };
    try {
      assert.equal((await review(alice, { namespace: ns, kind: "deployments", name: "server" })).allowed, true);
      assert.equal((await review(alice, { namespace: ns, kind: "pods", name: "server-1" })).allowed, true);
      assert.equal((await review(alice, { namespace: other, kind: "deployments", name: "server" })).allowed, false);
      assert.equal((await review(bob, { namespace: ns, kind: "deployments", name: "server" })).allowed, false);
    } finally {
      await rbac.deleteClusterRole({ name: role });
    }
  });
});
