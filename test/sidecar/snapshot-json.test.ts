import { strict as assert } from "node:assert";
import { fileURLToPath } from "node:url";
import { loadSync } from "@grpc/proto-loader";
import { protoLoaderOptions } from "../../api/load.ts";
import { snapshotFromJson } from "../../sidecar/src/discovery/snapshot-json.ts";
import { benchSnapshot } from "../../bench/lib-proxy-weft.ts";

// The real thing the static-mode reader stands in for: a protobuf round trip with the wire's options.
const snapshotType = loadSync(fileURLToPath(new URL("../../api/discovery.proto", import.meta.url)), protoLoaderOptions)["weft.discovery.v1.Snapshot"] as unknown as {
  serialize(value: unknown): Buffer;
  deserialize(bytes: Buffer): unknown;
};

function roundTrip(value: unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: snapshotType.deserialize(snapshotType.serialize(value)) };
  } catch {
    return { ok: false };
  }
}

const cases: [string, unknown][] = [
  ["the benchmark's snapshot", benchSnapshot(8080, "spiffe://cluster.local/ns/bench/sa/server")],
  ["an empty object", {}],
  ["a full snapshot with every field", {
    version: "v7", full: true, baseVersion: "v6", removedServices: ["a/b"],
    services: [{ namespace: "ns", name: "web", clusterIps: ["10.96.0.1"], headless: true,
      ports: [{ name: "http", port: 80, protocol: "TCP", appProtocol: "http" }, {}],
      endpoints: [{ address: "10.0.0.1", ports: { http: 8080, grpc: "9090" }, zone: "z", node: "n", pod: "p", ready: true, serving: 1, terminating: false, meshed: true, identity: "spiffe://x/ns/a/sa/b" }],
      clientPolicy: { retry: { enabled: true, maxRetries: "2", retryOnHttpStatus: [502, "503"], retryOnGrpcStatus: ["UNAVAILABLE"], budgetRatio: 0.2, budgetMinPerSecond: 10, backoffBaseMs: 25, backoffMaxMs: 250, maxBufferedBodyBytes: 65536 }, requestTimeoutMs: 1000, connectTimeoutMs: 500 } }],
    policy: { clientDefaults: { requestTimeoutMs: 5 }, inbound: { mode: "PERMISSIVE", allowedIdentities: ["spiffe://x/ns/a/sa/b"], plaintextPorts: [8080] } },
  }],
  ["enums by number, unknown enum names, nulls, negative and fractional numbers", {
    version: 5, services: [{ name: null, ports: [{ port: -1 }, { port: 80.7 }], endpoints: [{ ports: {} }] }], policy: { inbound: { mode: 2 } },
  }],
  ["an unknown enum name", { policy: { inbound: { mode: "NOPE" } } }],
  ["optional timeouts set to 0, set, and left unset", { policy: { clientDefaults: { responseTimeoutMs: 0, idleTimeoutMs: "300", totalTimeoutMs: null } } }],
  ["unknown fields", { version: "x", extra: 1, services: [{ name: "a", whatever: [1] }] }],
  ["routes with every field, optional timeouts set and unset, enums by name and number", {
    version: "r1", removedRoutes: ["a/gone"],
    routes: [{ service: "ns/web",
      rules: [
        { route: "ns/canary", name: "main", kind: "HTTPRoute", requestTimeoutMs: 0, backendRequestTimeoutMs: "250", retry: { attempts: 2, codes: [503, "504"], backoffMs: 10 },
          backends: [{ service: "ns/v1", port: 8080, weight: 90, invalid: false, filters: [{ responseHeaderModifier: { add: [{ name: "x", value: "y" }] } }] }, { weight: "10", invalid: 1 }],
          filters: [
            { requestHeaderModifier: { set: [{ name: "a", value: "b" }], add: [{ name: "c", value: "d" }], remove: ["e"] } },
            { requestRedirect: { scheme: "https", hostname: "h", port: 443, path: { type: "REPLACE_PREFIX_MATCH", value: "/v2" }, statusCode: 301 } },
            { urlRewrite: { hostname: "h2", path: { type: 1, value: "/x" } } },
            { requestMirror: { service: "ns/m", port: 0, percent: 12.5 } },
          ] },
        { route: "ns/grpc", kind: "GRPCRoute" },
      ],
      matches: [
        { port: 80, rule: 0, path: { type: "PREFIX", value: "/api" }, method: "GET", headers: [{ name: "x-a", value: "1" }, { name: "x-b", regex: true, value: "b.*" }], queryParams: [{ name: "q", value: "1" }] },
        { rule: 1, path: { type: 3, value: ".*" }, grpc: { service: "pkg.S", method: "M", regex: false } },
        { rule: 1 },
      ] }],
  }],
];

const refused: [string, unknown][] = [
  ["services that are not a list", { services: "web" }],
  ["a policy that is not an object", { policy: "strict" }],
  ["endpoint ports that are not a map", { services: [{ endpoints: [{ ports: 5 }] }] }],
  ["cluster IPs that are not a list", { services: [{ clusterIps: "10.0.0.1" }] }],
];

describe("static snapshot JSON, read without protobufjs", () => {
  for (const [what, json] of cases) {
    it(`reads ${what} exactly as a protobuf round trip does`, () => {
      const expected = roundTrip(json);
      const got = snapshotFromJson(json);
      assert.ok(expected.ok && got.ok);
      assert.deepEqual(JSON.parse(JSON.stringify(got.value)), JSON.parse(JSON.stringify(expected.value)));
    });
  }
  for (const [what, json] of refused) {
    it(`refuses ${what}, as protobufjs does`, () => {
      assert.equal(roundTrip(json).ok, false);
      const got = snapshotFromJson(json);
      assert.equal(got.ok, false);
      if (!got.ok) assert.equal(got.code, "bad-json");
    });
  }
});
