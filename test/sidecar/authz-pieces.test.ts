// The pure pieces of the proxy's authorization: the request attributes read
// from a head, the per-policy rate limit on decision log lines, and static
// mode's JSON reading of the Authorization (checked against a real protobuf
// round trip, as test/sidecar/snapshot-json.test.ts does for the rest).
import { strict as assert } from "node:assert";
import { fileURLToPath } from "node:url";
import { loadSync } from "@grpc/proto-loader";
import { pino } from "pino";
import { protoLoaderOptions } from "../../api/load.ts";
import { hostOf, httpAttributes, pathOf } from "../../sidecar/src/authz/attributes.ts";
import { DecisionLog } from "../../sidecar/src/authz/decision-log.ts";
import { snapshotFromJson } from "../../sidecar/src/discovery/snapshot-json.ts";
import { FakeClock } from "../support/fake-clock.ts";

describe("authorization request attributes", () => {
  it("reads method, path without query, host without port, and gRPC from a head", () => {
    assert.deepEqual(httpAttributes("post", "/weft.demo.v1.Payments/Charge?x=1", "Payments.Shop:8080", "application/grpc+proto"), {
      method: "POST",
      path: "/weft.demo.v1.Payments/Charge",
      host: "payments.shop",
      grpc: true,
    });
    assert.equal(httpAttributes("GET", "/", "a", "text/plain").grpc, false);
    assert.equal(httpAttributes("GET", "/", "a", undefined).grpc, false);
  });

  const paths: [string, string][] = [
    ["/a/b?c=d", "/a/b"],
    ["/", "/"],
    ["*", "*"],
    ["http://h:80/x?y", "/x"],
    ["http://h?q", "/"],
    ["https://h", "/"],
    ["h:443", "h:443"],
  ];
  for (const [target, path] of paths) it(`reads the path of ${target} as ${path}`, () => assert.equal(pathOf(target), path));

  const hosts: [string, string][] = [
    ["Example.COM", "example.com"],
    ["example.com:8443", "example.com"],
    ["[::1]:8080", "[::1]"],
    ["[::1]", "[::1]"],
    ["user@h:1", "h"],
    ["", ""],
  ];
  for (const [authority, host] of hosts) it(`reads the host of "${authority}" as "${host}"`, () => assert.equal(hostOf(authority), host));
});

describe("authorization decision log", () => {
  function logged(): { lines: Record<string, unknown>[]; log: DecisionLog; clock: FakeClock; suppressed: string[] } {
    const lines: Record<string, unknown>[] = [];
    const suppressed: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const clock = new FakeClock();
    const log = new DecisionLog({ logger, clock, linesPerWindow: 2, windowMs: 1_000, onSuppressed: (p) => suppressed.push(p) });
    return { lines, log, clock, suppressed };
  }

  it("writes at most linesPerWindow lines per policy per window, counts the rest, and reports them on the next line", () => {
    const { lines, log, clock, suppressed } = logged();
    for (let i = 0; i < 5; i++) log.write("deny", "ns/a", "ns/a", { peer: "spiffe://td/ns/x/sa/y", port: 8080, path: `/${i}` });
    log.write("deny", "ns/b", "ns/b", { peer: null, port: 8080 });
    assert.deepEqual(lines.map((l) => [l.policy, l.path ?? null]), [["ns/a", "/0"], ["ns/a", "/1"], ["ns/b", null]]);
    assert.deepEqual(suppressed, ["ns/a", "ns/a", "ns/a"]);
    clock.fake.tick(1_000);
    log.write("deny", "ns/a", "ns/a", { peer: null, port: 8080, path: "/5" });
    assert.equal(lines.at(-1)?.suppressedBefore, 3);
    assert.equal(lines.at(-1)?.decision, "deny");
  });

  it("limits refusals, audit lines and dry-run lines of one policy apart", () => {
    const { lines, log } = logged();
    for (let i = 0; i < 3; i++) {
      log.write("deny", "ns/a", "ns/a", { port: 1 });
      log.write("audit", "ns/a", "ns/a", { port: 1 });
    }
    assert.deepEqual(lines.map((l) => l.decision), ["deny", "audit", "deny", "audit"]);
  });
});

describe("static snapshot JSON carries the Authorization", () => {
  const snapshotType = loadSync(fileURLToPath(new URL("../../api/discovery.proto", import.meta.url)), protoLoaderOptions)["weft.discovery.v1.Snapshot"] as unknown as {
    serialize(value: unknown): Buffer;
    deserialize(bytes: Buffer): unknown;
  };
  const cases: [string, unknown][] = [
    ["every field", {
      policy: { inbound: { mode: "STRICT", authorization: {
        defaultPolicy: "DEFAULT_DENY", defaultDryRun: true, trustDomain: "cluster.local",
        policies: [{ name: "payments/charge", action: "ALLOW", ports: [8080, "9090"], rules: [{
          from: [{ identities: ["spiffe://cluster.local/ns/shop/sa/*"], notIdentities: ["x"], namespaces: ["shop"], notNamespaces: ["a"], serviceAccounts: ["shop/web"], notServiceAccounts: ["shop/b"] }, { unauthenticated: true }],
          to: [{ ports: [1], notPorts: [2], methods: ["POST"], notMethods: ["GET"], paths: [{ exact: "/charge" }, { prefix: "/api/" }, {}], notPaths: [{ prefix: "/x" }], hosts: ["*.shop"], notHosts: ["a.shop"], grpc: [{ service: "weft.demo.v1.Payments", method: "Charge" }, { service: "s" }] }],
        }] }, { name: "ns/audit", action: 3 }, {}],
      } } },
    }],
    ["enums by number and unknown names", { policy: { inbound: { authorization: { defaultPolicy: 2, policies: [{ action: "NOPE" }, { action: 9 }] } } } }],
    ["an empty authorization", { policy: { inbound: { authorization: {} } } }],
    ["no authorization", { policy: { inbound: { mode: "PERMISSIVE" } } }],
  ];
  for (const [what, json] of cases) {
    it(`reads ${what} exactly as a protobuf round trip does`, () => {
      const expected = snapshotType.deserialize(snapshotType.serialize(json));
      const got = snapshotFromJson(json);
      assert.ok(got.ok);
      assert.deepEqual(JSON.parse(JSON.stringify(got.value)), JSON.parse(JSON.stringify(expected)));
    });
  }

  it("refuses rules that are not a list, as protobufjs does", () => {
    const json = { policy: { inbound: { authorization: { policies: [{ rules: "all" }] } } } };
    assert.throws(() => snapshotType.serialize(json));
    assert.equal(snapshotFromJson(json).ok, false);
  });
});
