import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Snapshot__Output } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import { applySnapshot, loadMeshStateFile, meshStateToSnapshot, snapshotFromJson, type MeshState } from "../../sidecar/src/discovery/mesh-state.ts";

const snap = (json: object): Snapshot__Output => {
  const r = snapshotFromJson(json);
  if (!r.ok) throw new Error(r.message);
  return r.value;
};
const policy = { inbound: { mode: "STRICT" }, clientDefaults: { requestTimeoutMs: 10000 } };
const web = (n: number) => ({
  namespace: "shop",
  name: "web",
  ports: [{ name: "http", port: 80 }],
  endpoints: Array.from({ length: n }, (_, i) => ({ address: `10.0.0.${i + 1}`, ports: { http: 8080 }, ready: true, meshed: true, identity: "spiffe://cluster.local/ns/shop/sa/web" })),
});

describe("proxy mesh state", () => {
  const full = (): MeshState => {
    const r = applySnapshot(null, snap({ version: "e.1", full: true, services: [web(2), { namespace: "shop", name: "cart", ports: [{ port: 80 }] }], policy }));
    assert.ok(r.ok);
    return r.value;
  };

  it("applies a full snapshot, then deltas that replace and remove Services", () => {
    const s1 = full();
    assert.equal(s1.services.size, 2);
    const r = applySnapshot(s1, snap({ version: "e.2", baseVersion: "e.1", services: [web(3)], removedServices: ["shop/cart"] }));
    assert.ok(r.ok);
    assert.equal(r.value.version, "e.2");
    assert.deepEqual([...r.value.services.keys()], ["shop/web"]);
    assert.equal(r.value.services.get("shop/web")?.endpoints.length, 3);
    assert.equal(r.value.policy.inbound?.mode, "STRICT", "the policy carries over a delta without one");
    assert.equal(s1.services.size, 2, "the previous state is not mutated");
  });

  const refusals: [string, object, string][] = [
    ["a delta on the wrong base", { version: "e.2", baseVersion: "e.0" }, "base-mismatch"],
    ["no version", { full: true, policy }, "no-version"],
    ["a full snapshot without policy", { version: "e.2", full: true }, "full-without-policy"],
    ["a bad address", { version: "e.2", baseVersion: "e.1", services: [{ ...web(0), endpoints: [{ address: "nope", ports: { http: 1 } }] }] }, "bad-endpoint"],
    ["a meshed endpoint without identity", { version: "e.2", baseVersion: "e.1", services: [{ ...web(0), endpoints: [{ address: "10.0.0.1", meshed: true }] }] }, "bad-endpoint"],
    ["a bad identity after valid ones", { version: "e.2", baseVersion: "e.1", services: [{ ...web(2), endpoints: [...web(2).endpoints, { address: "10.0.0.9", ports: { http: 8080 }, meshed: true, identity: "spiffe://cluster.local/ns/Shop/sa/web" }] }] }, "bad-endpoint"],
    ["an endpoint port out of range", { version: "e.2", baseVersion: "e.1", services: [{ ...web(0), endpoints: [{ address: "10.0.0.1", ports: { http: 0 } }] }] }, "bad-endpoint"],
    ["a port out of range", { version: "e.2", baseVersion: "e.1", services: [{ ...web(0), ports: [{ port: 70000 }] }] }, "bad-service"],
    ["a duplicate Service", { version: "e.2", baseVersion: "e.1", services: [web(1), web(2)] }, "duplicate-service"],
    ["a Service both updated and removed", { version: "e.2", baseVersion: "e.1", services: [web(1)], removedServices: ["shop/web"] }, "duplicate-service"],
  ];
  for (const [what, json, code] of refusals) {
    it(`refuses ${what} (${code}) and leaves the state alone`, () => {
      const r = applySnapshot(full(), snap(json));
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.code, code);
    });
  }

  it("refuses a delta when nothing is held", () => {
    const r = applySnapshot(null, snap({ version: "e.2", baseVersion: "e.1" }));
    assert.equal(r.ok ? "" : r.code, "delta-without-base");
  });

  it("loads a state from a static JSON file and round-trips it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-meshstate-"));
    try {
      const path = join(dir, "mesh.json");
      await writeFile(path, JSON.stringify(meshStateToSnapshot(full())));
      const loaded = await loadMeshStateFile(path);
      assert.ok(loaded.ok, loaded.ok ? "" : loaded.message);
      assert.equal(loaded.value.services.get("shop/web")?.endpoints.length, 2);
      await writeFile(path, "{ not json");
      const bad = await loadMeshStateFile(path);
      assert.equal(bad.ok ? "" : bad.code, "bad-json");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
