// Applying discovery deltas costs what they change: the Service map is
// persistent (shared structure, never mutated), and the data plane's indices
// are updated from the difference between two states. These tests prove the
// results equal those of a rebuild from scratch, on a mesh large enough that
// the trie has several levels and splits, collapses and hash collisions occur.
import assert from "node:assert/strict";
import type { Snapshot__Output } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import { applySnapshot, snapshotFromJson, type MeshState } from "../../sidecar/src/discovery/mesh-state.ts";
import { MeshView } from "../../sidecar/src/discovery/mesh-view.ts";
import { PersistentMap, type MapChange } from "../../sidecar/src/discovery/persistent-map.ts";
import { buildRouteIndex, resolveRoute } from "../../sidecar/src/discovery/route-index.ts";

const snap = (json: object): Snapshot__Output => {
  const r = snapshotFromJson(json);
  if (!r.ok) throw new Error(r.message);
  return r.value;
};
const policy = { inbound: { mode: "STRICT" }, clientDefaults: { requestTimeoutMs: 10000 } };
const svc = (i: number, endpoints = 2, tag = "") => ({
  namespace: `ns-${i % 7}`,
  name: `svc-${i}`,
  clusterIps: [`10.96.${i >> 8}.${i & 255}`],
  ports: [{ name: "http", port: 80 }],
  endpoints: Array.from({ length: endpoints }, (_, e) => ({
    address: `10.${1 + (i >> 8)}.${i & 255}.${e + 1}`,
    ports: { http: 8080 },
    zone: tag || "a",
    ready: true,
    meshed: true,
    identity: `spiffe://cluster.local/ns/ns-${i % 7}/sa/svc-${i}`,
  })),
});
const ok = (r: ReturnType<typeof applySnapshot>): MeshState => {
  if (!r.ok) throw new Error(r.message);
  return r.value;
};
const fullOf = (n: number): MeshState => ok(applySnapshot(null, snap({ version: "e.1", full: true, services: Array.from({ length: n }, (_, i) => svc(i)), policy })));

describe("persistent service map", () => {
  it("behaves as a Map through sets and deletes, leaving every earlier version as it was", () => {
    const reference = new Map<string, number>();
    let map = PersistentMap.empty<number>();
    const versions: [PersistentMap<number>, Map<string, number>][] = [];
    // Deterministic pseudo-random keys over a small space, so keys are replaced and deleted often.
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let step = 0; step < 5000; step++) {
      const key = `k${next() % 700}`;
      if (next() % 3 === 0) {
        map = map.delete(key);
        reference.delete(key);
      } else {
        map = map.set(key, step);
        reference.set(key, step);
      }
      if (step % 500 === 0) versions.push([map, new Map(reference)]);
    }
    for (const [m, expected] of [...versions, [map, reference] as const]) {
      assert.equal(m.size, expected.size);
      assert.deepEqual(new Map(m), expected);
      for (const [k, v] of expected) assert.equal(m.get(k), v);
      assert.equal(m.has("absent"), false);
    }
  });

  it("keeps keys whose 32-bit hashes collide apart, through sets, deletes and diffs", () => {
    // Found by search: these pairs have the same FNV-1a hash.
    const pairs = [["ns/svc-539599", "ns/svc-722382"], ["ns/svc-539598", "ns/svc-722383"]] as const;
    const filler = Array.from({ length: 3000 }, (_, i) => [`ns/svc-${i}`, i] as const);
    const base = PersistentMap.from(filler);
    let map = base;
    for (const [a, b] of pairs) map = map.set(a, 1).set(b, 2);
    assert.equal(map.size, 3004);
    for (const [a, b] of pairs) assert.deepEqual([map.get(a), map.get(b)], [1, 2]);
    const replaced = map.set(pairs[0][1], 3);
    assert.deepEqual([replaced.get(pairs[0][0]), replaced.get(pairs[0][1])], [1, 3]);
    const removed = replaced.delete(pairs[0][0]);
    assert.deepEqual([removed.has(pairs[0][0]), removed.get(pairs[0][1]), removed.size], [false, 3, 3003]);
    const changes: MapChange<number>[] = [];
    PersistentMap.diff(map, removed, (c) => changes.push(c));
    assert.deepEqual(changes.sort((x, y) => x.key.localeCompare(y.key)), [
      { key: pairs[0][0], before: 1, after: undefined },
      { key: pairs[0][1], before: 2, after: 3 },
    ]);
    const big = PersistentMap.from(Array.from({ length: 20_000 }, (_, i) => [`svc-${i}`, i] as const));
    assert.equal(big.size, 20_000);
    for (let i = 0; i < 20_000; i += 7) assert.equal(big.get(`svc-${i}`), i);
  });

  it("diffs two versions into exactly the keys that were added, replaced or removed", () => {
    const base = PersistentMap.from(Array.from({ length: 2000 }, (_, i) => [`s${i}`, { i }] as const));
    const replaced = { i: -1 };
    const after = base.delete("s5").delete("s1999").set("s7", replaced).set("new", { i: 9 });
    const changes: MapChange<{ i: number }>[] = [];
    PersistentMap.diff(base, after, (c) => changes.push(c));
    const byKey = new Map(changes.map((c) => [c.key, c]));
    assert.equal(changes.length, 4);
    assert.deepEqual(byKey.get("s5"), { key: "s5", before: { i: 5 }, after: undefined });
    assert.deepEqual(byKey.get("s1999"), { key: "s1999", before: { i: 1999 }, after: undefined });
    assert.equal(byKey.get("s7")?.after, replaced);
    assert.deepEqual(byKey.get("new"), { key: "new", before: undefined, after: { i: 9 } });
    const none: unknown[] = [];
    PersistentMap.diff(after, after.set("s8", after.get("s8") ?? { i: 0 }), (c) => none.push(c));
    assert.deepEqual(none, [], "setting the same value is no change");
  });
});

describe("proxy mesh state: deltas", () => {
  it("a delta replaces and removes Services and leaves the state it was applied to untouched", () => {
    const s1 = fullOf(300);
    const before = new Map(s1.services);
    const s2 = ok(applySnapshot(s1, snap({ version: "e.2", baseVersion: "e.1", services: [svc(3, 5)], removedServices: ["ns-4/svc-4", "ns-5/svc-12"] })));
    assert.equal(s2.services.size, 298);
    assert.equal(s2.services.get("ns-3/svc-3")?.endpoints.length, 5);
    assert.equal(s2.services.has("ns-4/svc-4"), false);
    assert.equal(s2.services.get("ns-0/svc-7"), s1.services.get("ns-0/svc-7"), "an untouched Service is the same object");
    const s3 = ok(applySnapshot(s2, snap({ version: "e.3", baseVersion: "e.2", services: [svc(4, 1)] })));
    assert.equal(s3.services.size, 299);
    assert.deepEqual(new Map(s1.services), before, "the first state is not mutated by later applies");
    assert.equal(s1.services.get("ns-3/svc-3")?.endpoints.length, 2);
    assert.equal(s2.services.has("ns-4/svc-4"), false, "nor the second by the third");
  });

  it("a refused delta (NACK) changes nothing: the last good state still serves", () => {
    const s1 = fullOf(50);
    const copy = new Map(s1.services);
    const bad = snap({ version: "e.2", baseVersion: "e.1", services: [svc(1, 3), { ...svc(2), endpoints: [{ address: "nope", ports: { http: 1 } }] }], removedServices: ["ns-3/svc-3"] });
    const r = applySnapshot(s1, bad);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, "bad-endpoint");
    assert.deepEqual(new Map(s1.services), copy);
    const good = ok(applySnapshot(s1, snap({ version: "e.2", baseVersion: "e.1", services: [svc(1, 3)] })));
    assert.equal(good.services.get("ns-1/svc-1")?.endpoints.length, 3);
  });

  it("a full snapshot replaces everything held", () => {
    const s1 = fullOf(50);
    const s2 = ok(applySnapshot(s1, snap({ version: "e.9", full: true, services: [svc(100)], policy })));
    assert.deepEqual([...s2.services.keys()], ["ns-2/svc-100"]);
    assert.equal(s1.services.size, 50);
  });
});

describe("mesh view: updated from what changed", () => {
  const addresses = (s: ReturnType<typeof svc>) => [s.clusterIps[0]!, ...s.endpoints.map((e) => e.address)];
  /** Route kinds and endpoint keys of a view, next to those of an index built from scratch. */
  const assertMatchesRebuild = (view: MeshView, state: MeshState, probes: string[]) => {
    const fresh = buildRouteIndex(state.services.values());
    for (const address of probes) {
      for (const port of [80, 8080]) {
        const call = view.call(address, port);
        const route = resolveRoute(fresh, address, port);
        assert.equal(call === undefined, route.kind === "passthrough", `${address}:${port}`);
        if (call && route.kind !== "passthrough") {
          assert.equal(call.service, `${route.service.namespace}/${route.service.name}`, `${address}:${port}`);
          if (route.kind === "service") assert.deepEqual(call.endpoints.map((e) => e.key), route.service.endpoints.map((e) => `${e.address}:8080`));
        }
      }
    }
    const keys = new Set<string>();
    for (const s of state.services.values()) for (const e of s.endpoints) for (const p of Object.values(e.ports)) keys.add(`${e.address}:${p}`);
    assert.deepEqual(new Set(view.endpointKeys()), keys);
  };

  it("routes and endpoint keys after deltas equal a rebuild, and a new endpoint is routed", () => {
    const view = new MeshView();
    let state = fullOf(200);
    view.update(state);
    const probes = Array.from({ length: 210 }, (_, i) => addresses(svc(i, 6))).flat();
    assertMatchesRebuild(view, state, probes);
    // One more endpoint for svc-3, svc-4 gone, svc-205 new, then svc-4 back with other endpoints.
    state = ok(applySnapshot(state, snap({ version: "e.2", baseVersion: "e.1", services: [svc(3, 3), svc(205, 1)], removedServices: ["ns-4/svc-4"] })));
    view.update(state);
    assertMatchesRebuild(view, state, probes);
    assert.equal(view.call("10.1.3.3", 8080)?.endpoints[0]?.key, "10.1.3.3:8080");
    assert.equal(view.call("10.1.4.1", 8080), undefined, "a removed Service's endpoint passes through");
    assert.equal(view.call(svc(3).clusterIps[0]!, 80)?.endpoints.length, 3, "the changed Service's balancer list is rebuilt");
    state = ok(applySnapshot(state, snap({ version: "e.3", baseVersion: "e.2", services: [svc(4, 6, "b")] })));
    view.update(state);
    assertMatchesRebuild(view, state, probes);
    assert.equal(view.call(svc(4).clusterIps[0]!, 80)?.endpoints[0]?.zone, "b");
  });

  it("a pod port named by two Services stays routed while either names it", () => {
    const a = svc(1, 1);
    const b = { ...svc(2, 0), endpoints: a.endpoints };
    const view = new MeshView();
    let state = ok(applySnapshot(null, snap({ version: "e.1", full: true, services: [a, b], policy })));
    view.update(state);
    assert.ok(view.endpointKeys().has("10.1.1.1:8080"));
    state = ok(applySnapshot(state, snap({ version: "e.2", baseVersion: "e.1", removedServices: [`${a.namespace}/${a.name}`] })));
    view.update(state);
    assert.equal(view.call("10.1.1.1", 8080)?.service, `${b.namespace}/${b.name}`);
    assert.ok(view.endpointKeys().has("10.1.1.1:8080"));
    state = ok(applySnapshot(state, snap({ version: "e.3", baseVersion: "e.2", removedServices: [`${b.namespace}/${b.name}`] })));
    view.update(state);
    assert.equal(view.call("10.1.1.1", 8080), undefined);
    assert.equal(view.endpointKeys().size, 0);
  });

  it("a new policy default reaches calls cached for unchanged Services", () => {
    const view = new MeshView();
    let state = fullOf(5);
    view.update(state);
    const ip = svc(1).clusterIps[0]!;
    assert.equal(view.call(ip, 80)?.policy.responseTimeoutMs, 10000);
    state = ok(applySnapshot(state, snap({ version: "e.2", baseVersion: "e.1", policy: { ...policy, clientDefaults: { requestTimeoutMs: 2000 } } })));
    view.update(state);
    assert.equal(view.call(ip, 80)?.policy.responseTimeoutMs, 2000);
  });
});
