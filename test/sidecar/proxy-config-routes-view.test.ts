import assert from "node:assert/strict";
import { routesView } from "../../sidecar/src/admin/proxy-config-view.ts";
import { applySnapshot, snapshotFromJson } from "../../sidecar/src/discovery/mesh-state.ts";

describe("weft proxy-config routes: the proxy's routes as it tries them", () => {
  it("lists every match in order with its conditions, route, rule and weighted backends", () => {
    const snapshot = snapshotFromJson({
      version: "v.7", full: true,
      services: [{ namespace: "shop", name: "api", clusterIps: ["10.96.0.20"], ports: [{ name: "http", port: 8080 }] }],
      policy: { inbound: { mode: "STRICT" } },
      routes: [{
        service: "shop/api",
        rules: [
          { route: "shop/canary", name: "by-header", kind: "HTTPRoute", backends: [{ service: "shop/api-v2", weight: 1 }] },
          { route: "shop/canary", kind: "HTTPRoute", backends: [{ service: "shop/api-v1", port: 8080, weight: 90 }, { service: "shop/gone", weight: 10, invalid: true }] },
        ],
        matches: [
          { port: 8080, rule: 0, path: { type: "PREFIX", value: "/v2" }, method: "GET", headers: [{ name: "x-canary", value: "1" }] },
          { port: 0, rule: 1 },
        ],
      }],
    });
    assert.ok(snapshot.ok, JSON.stringify(snapshot));
    const state = applySnapshot(null, snapshot.value);
    assert.ok(state.ok, JSON.stringify(state));
    assert.deepEqual(routesView(state.value), {
      version: "v.7",
      routes: [
        { service: "shop/api", port: 8080, match: "PREFIX /v2 GET header x-canary=1", route: "shop/canary", rule: "by-header", backends: ["shop/api-v2 1"] },
        { service: "shop/api", port: 0, match: "any", route: "shop/canary", rule: "", backends: ["shop/api-v1:8080 90", "shop/gone 10 invalid"] },
      ],
    });
  });

  it("says there is nothing before the first snapshot", () => {
    assert.deepEqual(routesView(undefined), { version: null, routes: [] });
  });
});
