import assert from "node:assert/strict";
import { buildView, compileMesh, diffViews, sameView } from "../../control-plane/src/snapshot-builder.ts";
import { endpoint, mesh, meshedEndpoint, namespace, service } from "./discovery-helpers.ts";

describe("scope group views share their Service maps", () => {
  const model = (webAddress: string, dbAddress: string, legacyMeshed = false) =>
    mesh(
      [
        service("shop", "web", [meshedEndpoint(webAddress, "shop", "web")]),
        service("legacy", "db", [endpoint(dbAddress)]),
        service("other", "cache", [endpoint("10.0.3.1")]),
      ],
      [namespace("shop", true), namespace("legacy", legacyMeshed), namespace("other", false)],
    );

  it("gives every group the same mesh-wide map, and keeps it across a change to one namespace's own Service", () => {
    const c1 = compileMesh(model("10.0.0.1", "10.0.1.1"));
    const legacy1 = buildView(c1, "legacy");
    const other1 = buildView(c1, "other");
    assert.equal(legacy1.services.meshWide, other1.services.meshWide);
    assert.deepEqual([...legacy1.services.keys()].sort(), ["legacy/db", "shop/web"]);

    const c2 = compileMesh(model("10.0.0.1", "10.0.1.2"), c1);
    assert.equal(c2.meshWide, c1.meshWide, "no mesh-wide Service changed");
    assert.ok(sameView(other1, buildView(c2, "other")));
    const delta = diffViews(legacy1, buildView(c2, "legacy"));
    assert.deepEqual(delta.services.map((s) => s.name), ["db"]);
    assert.deepEqual(delta.removed, []);
  });

  it("diffs a mesh-wide change for every group, with removals", () => {
    const c1 = compileMesh(model("10.0.0.1", "10.0.1.1"));
    const c2 = compileMesh(mesh([service("legacy", "db", [endpoint("10.0.1.1")]), service("other", "cache", [endpoint("10.0.3.1")])], [namespace("shop", true), namespace("legacy", false), namespace("other", false)]), c1);
    assert.notEqual(c2.meshWide, c1.meshWide);
    const delta = diffViews(buildView(c1, "other"), buildView(c2, "other"));
    assert.deepEqual(delta.removed, ["shop/web"]);
    assert.deepEqual(delta.services, []);
  });

  it("sees no change for a Service that became mesh-wide with the same content, in its own namespace's view", () => {
    const c1 = compileMesh(model("10.0.0.1", "10.0.1.1", false));
    const c2 = compileMesh(model("10.0.0.1", "10.0.1.1", true), c1);
    assert.ok(c2.meshWide.has("legacy/db"));
    assert.deepEqual(diffViews(buildView(c1, "legacy"), buildView(c2, "legacy")).services, []);
    assert.deepEqual(diffViews(buildView(c1, "other"), buildView(c2, "other")).services.map((s) => s.name), ["db"]);
  });
});
