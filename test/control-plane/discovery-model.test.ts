import assert from "node:assert/strict";
import { PublishedModel } from "../../control-plane/src/discovery-model.ts";
import type { MeshModel } from "../../control-plane/src/mesh-state.ts";
import { endpoint, mesh, namespace, service } from "./discovery-helpers.ts";

function model(shopEndpoints: number): MeshModel {
  const eps = Array.from({ length: shopEndpoints }, (_, i) => endpoint(`10.0.0.${i + 1}`));
  return mesh([service("shop", "web", eps), service("legacy", "db", [endpoint("10.0.1.1")])], [namespace("shop", true), namespace("legacy", false)]);
}

/** The applied sequence, or null while there are no versions (read through a call, so an assertion does not narrow the getter). */
const sequence = (published: PublishedModel): number | null => published.versions?.sequence ?? null;

describe("discovery published model", () => {
  it("has no versions until the first model is applied", () => {
    const published = new PublishedModel({ epoch: "e" });
    assert.equal(sequence(published), null);
    assert.deepEqual(published.apply(), { kind: "nothing-pending" });
    published.publish(model(1));
    assert.equal(sequence(published), null, "published is not yet applied");
    assert.deepEqual(published.apply(), { kind: "first" });
    assert.equal(sequence(published), 0);
    assert.deepEqual(published.apply(), { kind: "nothing-pending" }, "a model is applied once");
  });

  it("reports the groups whose view changed", () => {
    const published = new PublishedModel({ epoch: "e", initial: model(1) });
    published.versions?.subscribe("shop");
    published.publish(model(2));
    const applied = published.apply();
    assert.equal(applied.kind, "updated");
    assert.deepEqual(applied.kind === "updated" ? [...applied.changed] : null, ["shop"]);
    published.publish(model(2));
    const same = published.apply();
    assert.deepEqual(same.kind === "updated" ? [...same.changed] : null, [], "an identical model changes no group");
  });

  it("builds only the latest of a burst of published builders, when applied", () => {
    const published = new PublishedModel({ epoch: "e", initial: model(1) });
    const built: number[] = [];
    for (const n of [2, 3, 4]) {
      published.publish(() => {
        built.push(n);
        return model(n);
      });
    }
    assert.deepEqual(built, []);
    published.apply();
    assert.deepEqual(built, [4]);
  });

  it("keeps the last version when building a model fails", () => {
    const published = new PublishedModel({ epoch: "e", initial: model(1) });
    const failure = new Error("informer cache inconsistent");
    published.publish(() => {
      throw failure;
    });
    assert.deepEqual(published.apply(), { kind: "failed", err: failure });
    assert.equal(sequence(published), 0);
    published.publish(model(2));
    assert.equal(published.apply().kind, "updated", "a later model still applies");
  });
});
