import assert from "node:assert/strict";
import { buildView, compileMesh, diffViews, sameView } from "../../control-plane/src/snapshot-builder.ts";
import { inScope } from "../../control-plane/src/snapshot-scope.ts";
import { SnapshotVersions } from "../../control-plane/src/snapshot-versions.ts";
import { endpoint, mesh, meshedEndpoint, namespace, service } from "./discovery-helpers.ts";

describe("snapshot builder", () => {
  const base = () =>
    mesh(
      [
        service("shop", "web", [meshedEndpoint("10.0.0.1", "shop", "web")]),
        service("shop", "cart", [meshedEndpoint("10.0.0.2", "shop", "cart")]),
        service("legacy", "db", [endpoint("10.0.1.1")]),
        service("legacy", "mixed", [endpoint("10.0.1.2"), meshedEndpoint("10.0.1.3", "legacy", "mixed")]),
        service("kube-system", "kube-dns", [endpoint("10.0.2.1")]),
      ],
      [namespace("shop", true), namespace("legacy", false), namespace("kube-system", false)],
    );

  it("scopes a proxy to meshed namespaces, Services with meshed endpoints and its own namespace", () => {
    const m = base();
    const shopView = buildView(compileMesh(m), "shop");
    assert.deepEqual([...shopView.services.keys()].sort(), ["legacy/mixed", "shop/cart", "shop/web"]);
    const legacyView = buildView(compileMesh(m), "legacy");
    assert.deepEqual([...legacyView.services.keys()].sort(), ["legacy/db", "legacy/mixed", "shop/cart", "shop/web"]);
    assert.equal(inScope("shop", m.services.get("kube-system/kube-dns")!, m.namespaces), false);
    assert.equal(inScope("kube-system", m.services.get("kube-system/kube-dns")!, m.namespaces), true);
  });

  it("gives a full snapshot with policy defaults: retries on, 2 retries, STRICT inbound", () => {
    const view = buildView(compileMesh(base()), "shop");
    const full = diffViews(null, view);
    assert.equal(full.services.length, 3);
    assert.equal(full.policy?.inbound?.mode, "STRICT");
    assert.equal(full.policy?.clientDefaults?.retry?.enabled, true);
    assert.equal(full.policy?.clientDefaults?.retry?.maxRetries, 2);
    assert.deepEqual(full.policy?.clientDefaults?.retry?.retryOnHttpStatus, [502, 503, 504]);
    assert.equal(full.policy?.clientDefaults?.requestTimeoutMs, 10_000);
  });

  it("reuses unchanged Services by identity and diffs only what changed", () => {
    const m1 = base();
    const c1 = compileMesh(m1);
    const m2 = mesh([...m1.services.values()].map((s) => (s.name === "web" ? service("shop", "web", [meshedEndpoint("10.0.0.1", "shop", "web"), meshedEndpoint("10.0.0.9", "shop", "web")]) : s)), [...m1.namespaces.values()]);
    const c2 = compileMesh(m2, c1);
    assert.equal(c2.services.get("shop/cart"), c1.services.get("shop/cart"));
    assert.notEqual(c2.services.get("shop/web"), c1.services.get("shop/web"));
    const delta = diffViews(buildView(c1, "shop"), buildView(c2, "shop"));
    assert.deepEqual(delta.services.map((s) => s.name), ["web"]);
    assert.equal(delta.services[0]?.endpoints?.length, 2);
    assert.deepEqual(delta.removed, []);
    assert.equal(delta.policy, null);
  });

  it("treats endpoint order and port-map order as no change", () => {
    const a = mesh([service("shop", "web", [endpoint("10.0.0.1", { ports: { a: 1, b: 2 } }), endpoint("10.0.0.2")])], [namespace("shop", true)]);
    const b = mesh([service("shop", "web", [endpoint("10.0.0.2"), endpoint("10.0.0.1", { ports: { b: 2, a: 1 } })])], [namespace("shop", true)]);
    const ca = compileMesh(a);
    assert.ok(sameView(buildView(ca, "shop"), buildView(compileMesh(b, ca), "shop")));
  });

  it("removes a Service that leaves the scope when its last meshed endpoint goes", () => {
    const m1 = base();
    const c1 = compileMesh(m1);
    const services = [...m1.services.values()].map((s) => (s.name === "mixed" ? service("legacy", "mixed", [endpoint("10.0.1.2")]) : s));
    const c2 = compileMesh(mesh(services, [...m1.namespaces.values()]), c1);
    const delta = diffViews(buildView(c1, "shop"), buildView(c2, "shop"));
    assert.deepEqual(delta.removed, ["legacy/mixed"]);
    assert.deepEqual(delta.services, []);
  });

  it("merges Service client overrides over the mesh defaults into a complete policy", () => {
    const m = mesh([service("shop", "web", [], { clientPolicy: { retry: { maxRetries: 5 }, responseTimeoutMs: 2500 } })], [namespace("shop", true)]);
    const svc = buildView(compileMesh(m), "shop").services.get("shop/web")!.message;
    assert.equal(svc.clientPolicy?.retry?.maxRetries, 5);
    assert.equal(svc.clientPolicy?.retry?.enabled, true);
    assert.equal(svc.clientPolicy?.requestTimeoutMs, 2500);
    assert.equal(svc.clientPolicy?.retry?.budgetRatio, 0.2);
  });

  it("sends a policy change alone when a namespace switches to PERMISSIVE", () => {
    const m1 = base();
    const c1 = compileMesh(m1);
    const namespaces = [...m1.namespaces.values()].map((n) => (n.name === "shop" ? namespace("shop", true, { inbound: { mode: "PERMISSIVE", allowedIdentities: [], plaintextPorts: [] } }) : n));
    const c2 = compileMesh(mesh([...m1.services.values()], namespaces), c1);
    const delta = diffViews(buildView(c1, "shop"), buildView(c2, "shop"));
    assert.deepEqual(delta.services, []);
    assert.equal(delta.policy?.inbound?.mode, "PERMISSIVE");
    assert.ok(sameView(buildView(c1, "legacy"), buildView(c2, "legacy")));
  });
});

describe("snapshot versions", () => {
  const m1 = mesh([service("shop", "web", [meshedEndpoint("10.0.0.1", "shop", "web")])], [namespace("shop", true), namespace("other", false)]);
  const m2 = mesh([service("shop", "web", [meshedEndpoint("10.0.0.1", "shop", "web"), meshedEndpoint("10.0.0.2", "shop", "web")])], [namespace("shop", true), namespace("other", false)]);
  const m3 = mesh([], [namespace("shop", true), namespace("other", false)]);

  it("sends a full snapshot to a proxy holding nothing, then a delta from the version it holds", () => {
    const v = new SnapshotVersions(m1, { epoch: "e1" });
    v.subscribe("shop");
    const first = v.prepare("shop", null);
    assert.equal(first.full, true);
    assert.equal(first.version, "e1.0");
    assert.deepEqual(v.update(m2), ["shop"]);
    const delta = v.prepare("shop", first.version);
    assert.equal(delta.full, false);
    assert.equal(delta.baseVersion, "e1.0");
    assert.equal(delta.version, "e1.1");
    assert.equal(delta.message.services?.[0]?.endpoints?.length, 2);
    assert.equal(v.prepare("shop", first.version), delta, "the delta is computed once per (group, base)");
    v.update(m3);
    const fromOld = v.prepare("shop", "e1.0");
    assert.deepEqual(fromOld.message.removedServices, ["shop/web"]);
  });

  it("falls back to a full snapshot for another epoch, an unknown or garbage version, or one past the history", () => {
    const v = new SnapshotVersions(m1, { epoch: "e2", historyDepth: 2 });
    v.subscribe("shop");
    for (const held of ["e1.0", "e2.99", "garbage", "e2.", "e2.-1"]) assert.equal(v.prepare("shop", held).full, true, held);
    v.update(m2);
    v.update(m3);
    v.update(m1);
    assert.equal(v.prepare("shop", "e2.0").full, true, "e2.0 fell out of a history of 2");
    assert.equal(v.prepare("shop", "e2.2").full, false);
  });

  it("does not move a group whose view did not change", () => {
    const v = new SnapshotVersions(m1, { epoch: "e3" });
    v.subscribe("other");
    const before = v.currentVersion("other");
    assert.deepEqual(v.update(m1), []);
    assert.equal(v.currentVersion("other"), before);
  });
});
