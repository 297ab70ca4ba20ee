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
