import { strict as assert } from "node:assert";
import type { ServiceRoutes, ServiceRoutes__Output } from "../../api/gen/weft/discovery/v1/ServiceRoutes.ts";
import { snapshotFromJson } from "../../sidecar/src/discovery/snapshot-json.ts";
import { applySnapshot, type MeshState } from "../../sidecar/src/discovery/mesh-state.ts";
import { chooseBackend, decideRoute, type RouteRequest } from "../../sidecar/src/routing/route-decision.ts";
import { compileRoutesOnce, validateRoutes, type RouteTable } from "../../sidecar/src/routing/route-table.ts";
import { seededRandom } from "../support/random.ts";

/** Routes as the control plane sends them, normalized the way the wire would. */
function routesOf(routes: ServiceRoutes): ServiceRoutes__Output {
  const snap = snapshotFromJson({ version: "t.1", full: true, policy: {}, routes: [routes] });
  if (!snap.ok) throw new Error(snap.message);
  return snap.value.routes[0] as ServiceRoutes__Output;
}

function table(routes: ServiceRoutes): RouteTable {
  const t = compileRoutesOnce(routesOf(routes));
  if (!t.ok) throw new Error(t.message);
  return t.value;
}

const req = (path: string, extra: Partial<RouteRequest> = {}): RouteRequest => ({ method: "GET", path, fields: [], ...extra });
const rule = (route: string, name = "") => ({ route, name, kind: "HTTPRoute", backends: [{ service: `default/${name || "b"}`, weight: 1 }] });
const never = (): number => {
  throw new Error("no draw expected");
};
const zero = (): number => 0;

/** The rule index a decision took, "unrouted", or "no-match". */
function decide(t: RouteTable, port: number, r: RouteRequest): string {
  const d = decideRoute(t, port, r, zero);
  return d.kind === "route" ? d.rule.name : d.kind;
}

describe("routing: the decision function", () => {
  const rules = ["exact", "prefix", "regex", "header", "query", "method", "grpc", "port8080", "any"].map((n) => rule(`default/${n}`, n));
  const t = table({
    service: "default/echo",
    rules,
    matches: [
      { rule: 0, path: { type: "EXACT", value: "/exact" } },
      { rule: 1, path: { type: "PREFIX", value: "/foo" } },
      { rule: 2, path: { type: "REGEX", value: "/items/[0-9]+" } },
      { rule: 3, path: { type: "PREFIX", value: "/h" }, headers: [{ name: "X-Canary", value: "yes" }, { name: "x-user", regex: true, value: "a.*" }] },
      { rule: 4, path: { type: "PREFIX", value: "/q" }, queryParams: [{ name: "v", value: "2" }, { name: "Tag", regex: true, value: "b[0-9]" }] },
      { rule: 5, path: { type: "PREFIX", value: "/m" }, method: "POST" },
      { rule: 6, grpc: { service: "pkg.Greeter", method: "Hello" } },
      { rule: 7, port: 8080, path: { type: "PREFIX", value: "/" } },
      { rule: 8, port: 80, path: { type: "PREFIX", value: "/" } },
    ],
  });
  const cases: [string, number, RouteRequest, string][] = [
    ["exact path", 80, req("/exact"), "exact"],
    ["exact path, query ignored", 80, req("/exact?x=1"), "exact"],
    ["exact path is not a prefix", 80, req("/exact/more"), "any"],
    ["prefix: the prefix itself", 80, req("/foo"), "prefix"],
    ["prefix: a segment below", 80, req("/foo/bar"), "prefix"],
    ["prefix: a trailing slash", 80, req("/foo/"), "prefix"],
    ["prefix: not a longer segment", 80, req("/foobar"), "any"],
    ["regex: full match", 80, req("/items/42"), "regex"],
    ["regex: anchored (no partial match)", 80, req("/items/42/x"), "any"],
    ["headers: all match (names case-insensitive in the route)", 80, req("/h", { fields: ["x-canary", "yes", "x-user", "alice"] }), "header"],
    ["headers: one value differs", 80, req("/h", { fields: ["x-canary", "no", "x-user", "alice"] }), "any"],
    ["headers: regex fails", 80, req("/h", { fields: ["x-canary", "yes", "x-user", "bob"] }), "any"],
    ["headers: one missing", 80, req("/h", { fields: ["x-canary", "yes"] }), "any"],
    ["query: exact and regex", 80, req("/q?v=2&Tag=b7"), "query"],
    ["query: names are case-sensitive", 80, req("/q?v=2&tag=b7"), "any"],
    ["query: first value of a repeated parameter", 80, req("/q?v=1&v=2&Tag=b1"), "any"],
    ["query: percent-decoded", 80, req("/q?v=%32&Tag=b1"), "query"],
    ["method matches", 80, req("/m", { method: "POST" }), "method"],
    ["method differs", 80, req("/m", { method: "GET" }), "any"],
    ["gRPC service and method", 80, req("/pkg.Greeter/Hello", { fields: ["content-type", "application/grpc"] }), "grpc"],
    ["gRPC other method", 80, req("/pkg.Greeter/Bye"), "any"],
    ["port scoping: a match for 8080 only", 8080, req("/exact"), "exact"],
    ["port scoping: 8080 falls to its own catch-all", 8080, req("/nothing"), "port8080"],
    ["port scoping: on another port only the every-port matches apply", 9090, req("/zzz"), "no-match"],
  ];
  for (const [name, port, r, want] of cases) it(`${name}: ${r.method} ${r.path} on ${port} -> ${want}`, () => assert.equal(decide(t, port, r), want));

  it("the first match wins, whatever the rule order", () => {
    const t2 = table({ service: "default/echo", rules: [rule("a", "second"), rule("b", "first")], matches: [{ rule: 1, path: { type: "PREFIX", value: "/" } }, { rule: 0, path: { type: "PREFIX", value: "/" } }] });
    assert.equal(decide(t2, 80, req("/x")), "first");
  });

  it("a table naming only other ports leaves this port unrouted; a port-0 match routes every port", () => {
    const only = table({ service: "default/echo", rules: [rule("a", "a")], matches: [{ port: 8080, rule: 0 }] });
    assert.equal(decideRoute(only, 80, req("/"), never).kind, "unrouted");
    const all = table({ service: "default/echo", rules: [rule("a", "a")], matches: [{ rule: 0, path: { type: "EXACT", value: "/x" } }] });
    assert.equal(decide(all, 1234, req("/y")), "no-match");
    assert.equal(decide(all, 1234, req("/x")), "a");
  });

  it("a prefix of / matches every path", () => {
    const t2 = table({ service: "default/echo", rules: [rule("a", "a")], matches: [{ rule: 0, path: { type: "PREFIX", value: "/" } }] });
    for (const p of ["/", "/a", "/a/b?c=d"]) assert.equal(decide(t2, 80, req(p)), "a");
  });

  it("gRPC matches by regular expression, and on service alone", () => {
    const t2 = table({
      service: "default/echo",
      rules: [rule("a", "re"), rule("b", "svc")],
      matches: [{ rule: 0, grpc: { service: "pkg\\.v[0-9]\\.Store", method: "Get.*", regex: true } }, { rule: 1, grpc: { service: "pkg.Other" } }],
    });
    assert.equal(decide(t2, 80, req("/pkg.v1.Store/GetItem")), "re");
    assert.equal(decide(t2, 80, req("/pkg.v1.Store/Put")), "no-match");
    assert.equal(decide(t2, 80, req("/pkg.Other/Anything")), "svc");
    assert.equal(decide(t2, 80, req("/not-grpc")), "no-match");
  });
});

describe("routing: weighted backends", () => {
  const weighted = (backends: { service?: string; weight?: number; invalid?: boolean }[]) =>
    table({ service: "default/echo", rules: [{ route: "default/split", kind: "HTTPRoute", backends }], matches: [{ rule: 0 }] }).matches[0]?.rule;

  it("splits 90/10 within a percent over 100,000 seeded draws", () => {
    const r = weighted([{ service: "default/v1", weight: 90 }, { service: "default/v2", weight: 10 }]);
    assert.ok(r);
    const random = seededRandom(7);
    const counts = new Map<string, number>();
    for (let i = 0; i < 100_000; i++) {
      const b = chooseBackend(r, random);
      counts.set(b?.service ?? "none", (counts.get(b?.service ?? "none") ?? 0) + 1);
    }
    assert.ok(Math.abs((counts.get("default/v1") ?? 0) / 100_000 - 0.9) < 0.01, JSON.stringify([...counts]));
    assert.ok(Math.abs((counts.get("default/v2") ?? 0) / 100_000 - 0.1) < 0.01);
  });

  it("never draws a weight-0 backend, even at the edges of the random range", () => {
    const r = weighted([{ service: "default/zero", weight: 0 }, { service: "default/one", weight: 1 }, { service: "default/none", weight: 0 }]);
    assert.ok(r);
    for (const x of [0, 0.5, 0.999999999]) assert.equal(chooseBackend(r, () => x)?.service, "default/one");
  });

  it("all-zero weights and no backends: every request is the invalid share (null)", () => {
    assert.equal(chooseBackend(weighted([{ service: "default/a", weight: 0 }, { service: "default/b", weight: 0 }]) ?? assert.fail(), never), null);
    assert.equal(chooseBackend(weighted([]) ?? assert.fail(), never), null);
  });

  it("an invalid backend's share is null (answered 500), the others' are served", () => {
    const r = weighted([{ service: "default/ok", weight: 3 }, { invalid: true, weight: 1 }]);
    assert.ok(r);
    assert.equal(chooseBackend(r, () => 0.5)?.service, "default/ok");
    assert.equal(chooseBackend(r, () => 0.8), null);
  });
});

describe("routing: what the proxy refuses (NACK)", () => {
  const bad: [string, ServiceRoutes, RegExp][] = [
    ["a regex that does not compile", { service: "default/echo", rules: [rule("default/r")], matches: [{ rule: 0, path: { type: "REGEX", value: "/a(" } }] }, /does not compile/],
    ["a header regex that does not compile", { service: "default/echo", rules: [rule("default/r")], matches: [{ rule: 0, headers: [{ name: "x", regex: true, value: "[" }] }] }, /does not compile/],
    ["a match naming a rule out of range", { service: "default/echo", rules: [rule("default/r")], matches: [{ rule: 3 }] }, /points at rule 3/],
    ["a prefix without its leading slash", { service: "default/echo", rules: [rule("default/r")], matches: [{ rule: 0, path: { type: "PREFIX", value: "api" } }] }, /does not start with/],
    ["a redirect and a rewrite on one rule", { service: "default/echo", rules: [{ ...rule("default/r"), filters: [{ requestRedirect: { hostname: "x" } }, { urlRewrite: { hostname: "y" } }] }], matches: [{ rule: 0 }] }, /cannot be on the same rule/],
  ];
  for (const [name, routes, message] of bad) {
    it(`refuses ${name}, with a reason`, () => {
      const r = validateRoutes([routesOf(routes)]);
      assert.equal(r.ok, false);
      assert.match(r.ok ? "" : r.message, message);
    });
  }

  it("accepts a backend Service the snapshot does not hold (its share is a 500 at request time)", () => {
    assert.equal(validateRoutes([routesOf({ service: "default/echo", rules: [{ route: "default/r", backends: [{ service: "default/missing", weight: 1 }] }], matches: [{ rule: 0 }] })]).ok, true);
  });
});

describe("discovery: routes in snapshots", () => {
  const policy = { inbound: { mode: "STRICT" } };
  const apply = (state: MeshState | null, json: object) => {
    const snap = snapshotFromJson(json);
    if (!snap.ok) throw new Error(snap.message);
    return applySnapshot(state, snap.value);
  };
  const r = (service: string, route: string) => ({ service, rules: [rule(route)], matches: [{ rule: 0 }] });

  it("a full snapshot sets the routes, a delta replaces or removes them per Service, a full one replaces them all", () => {
    const s1 = apply(null, { version: "e.1", full: true, policy, routes: [r("default/a", "default/r1"), r("default/b", "default/r2")] });
    assert.ok(s1.ok);
    assert.deepEqual([...s1.value.routes.keys()].sort(), ["default/a", "default/b"]);
    const s2 = apply(s1.value, { version: "e.2", baseVersion: "e.1", routes: [r("default/a", "default/r3")], removedRoutes: ["default/b"] });
    assert.ok(s2.ok);
    assert.deepEqual([...s2.value.routes.keys()], ["default/a"]);
    assert.equal(s2.value.routes.get("default/a")?.rules[0]?.route, "default/r3");
    // The earlier state is untouched.
    assert.equal(s1.value.routes.get("default/a")?.rules[0]?.route, "default/r1");
    const s3 = apply(s2.value, { version: "e.3", full: true, policy, routes: [r("default/c", "default/r4")] });
    assert.ok(s3.ok);
    assert.deepEqual([...s3.value.routes.keys()], ["default/c"]);
  });

  it("refuses routes listed twice, updated and removed at once, or keyed by something not a Service", () => {
    const twice = apply(null, { version: "e.1", full: true, policy, routes: [r("default/a", "x"), r("default/a", "y")] });
    assert.match(twice.ok ? "" : twice.message, /twice/);
    const both = apply(null, { version: "e.1", full: true, policy, routes: [r("default/a", "x")], removedRoutes: ["default/a"] });
    assert.equal(both.ok, false);
    const key = apply(null, { version: "e.1", full: true, policy, routes: [r("Not A Key", "x")] });
    assert.equal(key.ok, false);
  });
});
