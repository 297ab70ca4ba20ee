// Routes compiled per client namespace: Gateway API precedence (table-driven),
// consumer over producer, scope, sharing between groups, and what full
// snapshots and deltas carry.
import assert from "node:assert/strict";
import { buildView, compileMesh, diffViews, sameView } from "../../control-plane/src/snapshot-builder.ts";
import { SnapshotVersions } from "../../control-plane/src/snapshot-versions.ts";
import type { MeshModel } from "../../control-plane/src/mesh-state.ts";
import { decodeSnapshot, mesh, meshedEndpoint, namespace, service } from "./discovery-helpers.ts";
import { backend, grpcRoute, httpRoute, svcParent, withRoutes } from "./routes-helpers.ts";

const base = (): MeshModel =>
  mesh(
    [
      service("shop", "web", [meshedEndpoint("10.0.0.1", "shop", "web")], {
        ports: [
          { name: "http", port: 80, protocol: "TCP", appProtocol: "http" },
          { name: "admin", port: 8080, protocol: "TCP", appProtocol: "http" },
        ],
      }),
      service("shop", "web-v2", [meshedEndpoint("10.0.0.2", "shop", "web")]),
      service("legacy", "db", []),
      service("client", "app", []),
    ],
    [namespace("shop", true), namespace("legacy", false), namespace("client", false), namespace("other", false)],
  );

/** The route and rule name each match of `service` points at, in order, as the group of `ns` gets them. */
function order(model: MeshModel, ns: string, svc = "shop/web"): string[] {
  const routes = diffViews(null, buildView(compileMesh(model), ns)).routes.find((r) => r.service === svc);
  return (routes?.matches ?? []).map((m) => {
    const rule = routes?.rules?.[m.rule ?? 0];
    return `${rule?.route?.split("/")[1]}.${rule?.name || "-"}${m.port ? `:${m.port}` : ""}`;
  });
}

const rule = (name: string, match: Record<string, unknown> | null) => ({ name, ...(match ? { matches: [match] } : {}), backendRefs: [backend("web")] });
const route = (name: string, rules: unknown[], created = "2025-01-01T00:00:00Z", ns = "shop", parents: unknown[] = [svcParent("web", ns === "shop" ? {} : { namespace: "shop" })]) =>
  httpRoute(ns, name, { parentRefs: parents, rules }, { created });

describe("routes: precedence", () => {
  const cases: { name: string; routes: unknown[]; grpc?: unknown[]; want: string[] }[] = [
    {
      name: "exact path before the longest prefix before shorter prefixes before regex",
      routes: [
        route("r", [
          rule("regex", { path: { type: "RegularExpression", value: "/a.*" } }),
          rule("short", { path: { type: "PathPrefix", value: "/a" } }),
          rule("long", { path: { type: "PathPrefix", value: "/a/b" } }),
          rule("exact", { path: { type: "Exact", value: "/a/b/c" } }),
          rule("root", null),
        ]),
      ],
      want: ["r.exact", "r.long", "r.short", "r.root", "r.regex"],
    },
    {
      name: "on equal paths: a method first, then most headers, then most query parameters",
      routes: [
        route("r", [
          rule("plain", { path: { value: "/p" } }),
          rule("query", { path: { value: "/p" }, queryParams: [{ name: "a", value: "1" }, { name: "b", value: "1" }] }),
          rule("header", { path: { value: "/p" }, headers: [{ name: "a", value: "1" }] }),
          rule("headers2", { path: { value: "/p" }, headers: [{ name: "a", value: "1" }, { name: "b", value: "1" }] }),
          rule("method", { path: { value: "/p" }, method: "GET" }),
        ]),
      ],
      want: ["r.method", "r.headers2", "r.header", "r.query", "r.plain"],
    },
    {
      name: "the path outranks everything else: a longer prefix without headers beats a shorter one with them",
      routes: [route("r", [rule("headers", { path: { value: "/a" }, headers: [{ name: "x", value: "1" }], method: "GET" }), rule("longer", { path: { value: "/ab" } })])],
      want: ["r.longer", "r.headers"],
    },
    {
      name: "between equal matches of two routes: the oldest creationTimestamp first",
      routes: [route("b-new", [rule("x", null)], "2025-03-01T00:00:00Z"), route("a-old", [rule("x", null)], "2025-01-01T00:00:00Z")],
      want: ["a-old.x", "b-new.x"],
    },
    {
      name: "created at the same time: by namespace/name",
      routes: [route("zeta", [rule("x", null)]), route("alpha", [rule("x", null)])],
      want: ["alpha.x", "zeta.x"],
    },
    {
      name: "within a route: rule order, then match order",
      routes: [route("r", [{ name: "first", matches: [{ path: { value: "/m2" } }, { path: { value: "/m1" } }], backendRefs: [backend("web")] }, rule("second", { path: { value: "/m1" } })])],
      want: ["r.first", "r.first", "r.second"],
    },
    {
      name: "a route with two port parentRefs: one entry per port",
      routes: [route("r", [rule("x", null)], undefined, "shop", [svcParent("web", { port: 8080 }), svcParent("web", { port: 80 })])],
      want: ["r.x:80", "r.x:8080"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(order(withRoutes(base(), c.routes, c.grpc ?? []), "client"), c.want));
  }

  it("GRPCRoute: exact before regex, longest service, longest method, most headers", () => {
    const g = (name: string, method: Record<string, unknown>, headers: unknown[] = []) => ({ name, matches: [{ method, headers }], backendRefs: [backend("web")] });
    const model = withRoutes(base(), [], [
      grpcRoute("shop", "g", {
        parentRefs: [svcParent("web")],
        rules: [g("regex", { type: "RegularExpression", service: "echo\\..*" }), g("svc", { service: "echo.Echo" }), g("svc-method", { service: "echo.Echo", method: "Ping" }), g("svc-headers", { service: "echo.Echo" }, [{ name: "x", value: "1" }]), g("any", {})],
      }),
    ]);
    assert.deepEqual(order(model, "client"), ["g.svc-method", "g.svc-headers", "g.svc", "g.any", "g.regex"]);
  });
});

describe("routes: per client namespace", () => {
  const producer = route("split", [rule("producer", null)]);
  const consumer = route("mine", [rule("consumer", null)], "2026-01-01T00:00:00Z", "client");

  it("gives a namespace its own (consumer) routes for a Service when it has any, every other namespace the producer's", () => {
    const model = withRoutes(base(), [producer, consumer]);
    assert.deepEqual(order(model, "client"), ["mine.consumer"]);
    assert.deepEqual(order(model, "other"), ["split.producer"]);
    assert.deepEqual(order(model, "shop"), ["split.producer"]);
    assert.deepEqual(order(model, "client#abc"), ["mine.consumer"], "a class group is its namespace's");
  });

  it("a consumer route whose parent it does not see, and producer routes of a namespace-local Service, reach no one else", () => {
    const model = withRoutes(base(), [
      httpRoute("legacy", "local", { parentRefs: [svcParent("db")], rules: [{ backendRefs: [backend("db")] }] }),
      httpRoute("client", "peek", { parentRefs: [svcParent("db", { namespace: "legacy" })], rules: [{ backendRefs: [backend("app")] }] }),
    ]);
    const keys = (ns: string) => diffViews(null, buildView(compileMesh(model), ns)).routes.map((r) => r.service);
    assert.deepEqual(keys("legacy"), ["legacy/db"]);
    assert.deepEqual(keys("client"), []);
    assert.deepEqual(keys("shop"), []);
  });

  it("compiles a Service's producer routes once and shares the object between groups and across unchanged models", () => {
    const model = withRoutes(base(), [producer, consumer]);
    const c1 = compileMesh(model);
    const other = buildView(c1, "other").routes.get("shop/web");
    assert.ok(other);
    assert.equal(buildView(c1, "shop").routes.get("shop/web"), other);
    assert.notEqual(buildView(c1, "client").routes.get("shop/web"), other);
    const c2 = compileMesh(withRoutes(base(), [producer, consumer]), c1);
    assert.equal(c2.routes.meshWide, c1.routes.meshWide, "an unchanged model keeps the very map");
    assert.equal(buildView(c2, "other").routes.get("shop/web"), other);
    assert.ok(sameView(buildView(c1, "client"), buildView(c2, "client")));
  });

  it("a mesh without routes compiles to the same empty table every time", () => {
    const c1 = compileMesh(base());
    const c2 = compileMesh(base(), c1);
    assert.equal(c2.routes, c1.routes);
    assert.deepEqual(diffViews(null, buildView(c2, "shop")).routes, []);
  });
});

describe("routes: snapshots and deltas", () => {
  const v1 = route("split", [{ name: "canary", backendRefs: [backend("web", 80, { weight: 90 }), backend("web-v2", 80, { weight: 10 })] }]);
  const v2 = route("split", [{ name: "canary", backendRefs: [backend("web", 80, { weight: 0 }), backend("web-v2", 80, { weight: 100 })] }]);
  const consumer = route("mine", [rule("consumer", null)], "2026-01-01T00:00:00Z", "client");

  it("sends every route in a full snapshot, a changed ServiceRoutes whole in a delta, and removed keys in removed_routes", () => {
    const versions = new SnapshotVersions(withRoutes(base(), [v1]), { epoch: "e" });
    const first = versions.prepare("other", null);
    const full = decodeSnapshot(first.encoded);
    assert.equal(full.full, true);
    assert.deepEqual(full.routes.map((r) => r.service), ["shop/web"]);
    assert.deepEqual(full.routes[0]!.rules[0]!.backends.map((b) => [b.service, b.weight]), [["shop/web", 90], ["shop/web-v2", 10]]);
    assert.equal(full.routes[0]!.matches[0]!.path?.type, "PREFIX");

    assert.deepEqual(versions.update(withRoutes(base(), [v2])), ["other"]);
    const delta = decodeSnapshot(versions.prepare("other", first.version).encoded);
    assert.equal(delta.full, false);
    assert.deepEqual(delta.services, [], "Services did not change");
    assert.deepEqual(delta.routes[0]!.rules[0]!.backends.map((b) => b.weight), [0, 100]);
    assert.equal(delta.routes[0]!.matches.length, 1, "whole");

    const second = versions.currentVersion("other");
    assert.deepEqual(versions.update(withRoutes(base(), [])), ["other"]);
    const removal = decodeSnapshot(versions.prepare("other", second).encoded);
    assert.deepEqual(removal.routes, []);
    assert.deepEqual(removal.removedRoutes, ["shop/web"]);
  });

  it("a consumer route changes only its namespace's groups; removing it gives the namespace the producer routes back", () => {
    const versions = new SnapshotVersions(withRoutes(base(), [v1]), { epoch: "e" });
    versions.prepare("client", null);
    const other = versions.prepare("other", null);
    assert.deepEqual(versions.update(withRoutes(base(), [v1, consumer])), ["client"]);
    assert.equal(versions.currentVersion("other"), other.version);
    const held = versions.currentVersion("client");
    assert.deepEqual(decodeSnapshot(versions.prepare("client", held).encoded).routes, []);
    assert.deepEqual(versions.update(withRoutes(base(), [v1])), ["client"]);
    const back = decodeSnapshot(versions.prepare("client", held).encoded);
    assert.deepEqual(back.routes[0]!.rules.map((r) => r.name), ["canary"]);
    assert.deepEqual(back.removedRoutes, []);
  });

  it("a delta from a view without routes to one with them carries only the routes", () => {
    const view1 = buildView(compileMesh(base()), "other");
    const c = compileMesh(withRoutes(base(), [v1]));
    const delta = diffViews(view1, buildView(c, "other"));
    assert.deepEqual(delta.routes.map((r) => r.service), ["shop/web"]);
    assert.deepEqual(delta.compiledRoutes.map((r) => r.key), ["shop/web"]);
    assert.deepEqual(delta.services, []);
  });
});
