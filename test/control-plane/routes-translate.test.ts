// Gateway API routes to the mesh model: which routes are Weft's, every
// validation failure, and the status reason each leads to.
import assert from "node:assert/strict";
import { checkRegex, parseGatewayDuration } from "../../control-plane/src/routes-values.ts";
import type { RouteOutcome } from "../../control-plane/src/routes-translate.ts";
import { mesh, service } from "./discovery-helpers.ts";
import { backend, grpcRoute, httpRoute, referenceGrant, svcParent, translate } from "./routes-helpers.ts";

const services = mesh([
  service("shop", "web", []),
  service("shop", "web-v2", []),
  service("shop", "grpc", [], { ports: [{ name: "grpc", port: 9000, protocol: "TCP", appProtocol: "grpc" }] }),
  service("other", "api", []),
]).services;

const only = (outcomes: RouteOutcome[]) => {
  assert.equal(outcomes.length, 1);
  return outcomes[0]!.parents;
};
const conditions = (outcomes: RouteOutcome[]) =>
  only(outcomes).map((p) => ({ accepted: `${p.accepted.status}/${p.accepted.reason}`, resolvedRefs: `${p.resolvedRefs.status}/${p.resolvedRefs.reason}` }));

describe("routes: translation", () => {
  it("ignores routes whose parents are not Services (a gateway's routes are not ours)", () => {
    const t = translate(services, [
      httpRoute("shop", "gw", { parentRefs: [{ name: "my-gateway" }], rules: [{ backendRefs: [backend("web")] }] }),
      httpRoute("shop", "gw2", { parentRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "g" }], rules: [] }),
      httpRoute("shop", "svc-no-group", { parentRefs: [{ kind: "Service", name: "web" }], rules: [] }),
    ]);
    assert.deepEqual(t.outcomes, []);
    assert.deepEqual(t.model.routes, []);
  });

  it("accepts a route on a Service with group \"\" or \"core\", defaults the match to PathPrefix / and weights to 1", () => {
    const t = translate(services, [
      httpRoute("shop", "split", { parentRefs: [svcParent("web"), { group: "core", kind: "Service", name: "web", port: 80 }, { name: "gw" }], rules: [{ name: "canary", backendRefs: [backend("web"), backend("web-v2", 80, { weight: 10 })] }] }),
    ]);
    assert.deepEqual(conditions(t.outcomes), [
      { accepted: "true/Accepted", resolvedRefs: "true/ResolvedRefs" },
      { accepted: "true/Accepted", resolvedRefs: "true/ResolvedRefs" },
    ]);
    const route = t.model.routes[0]!;
    assert.deepEqual(route.parents, [{ service: "shop/web", port: 0 }, { service: "shop/web", port: 80 }]);
    assert.deepEqual(route.rules[0]!.matches, [{ path: { type: "PREFIX", value: "/" }, method: "", headers: [], queryParams: [], grpc: null }]);
    assert.equal(route.rules[0]!.rule.name, "canary");
    assert.deepEqual(route.rules[0]!.rule.backends?.map((b) => [b.service, b.weight, b.invalid]), [["shop/web", 1, false], ["shop/web-v2", 10, false]]);
  });

  it("says NoMatchingParent for a missing parent Service, a port it does not have, or an unknown port name", () => {
    const t = translate(services, [
      httpRoute("shop", "r", { parentRefs: [svcParent("nope"), svcParent("web", { port: 81 }), svcParent("web", { sectionName: "admin" }), svcParent("web", { sectionName: "http" })], rules: [{ backendRefs: [backend("web")] }] }),
    ]);
    assert.deepEqual(only(t.outcomes).map((p) => `${p.accepted.status}/${p.accepted.reason}`), ["false/NoMatchingParent", "false/NoMatchingParent", "false/NoMatchingParent", "true/Accepted"]);
    assert.match(only(t.outcomes)[0]!.accepted.message, /shop\/nope not found/);
    assert.deepEqual(t.model.routes[0]?.parents, [{ service: "shop/web", port: 80 }]);
  });

  const refCases: { name: string; ref: Record<string, unknown>; grants?: unknown[]; reason: string }[] = [
    { name: "a backend Service that does not exist", ref: backend("missing"), reason: "BackendNotFound" },
    { name: "a backend in another namespace without a ReferenceGrant", ref: backend("api", 80, { namespace: "other" }), reason: "RefNotPermitted" },
    { name: "a grant for another kind", ref: backend("api", 80, { namespace: "other" }), grants: [referenceGrant("other", "shop", "GRPCRoute")], reason: "RefNotPermitted" },
    { name: "a grant naming another Service", ref: backend("api", 80, { namespace: "other" }), grants: [referenceGrant("other", "shop", "HTTPRoute", { group: "", kind: "Service", name: "db" })], reason: "RefNotPermitted" },
    { name: "a backend that is not a Service", ref: backend("bucket", 80, { group: "storage.example.com", kind: "Bucket" }), reason: "InvalidKind" },
  ];
  for (const c of refCases) {
    it(`flags ${c.name} invalid (its share gets 500) and says ResolvedRefs False ${c.reason}, still Accepted`, () => {
      const t = translate(services, [httpRoute("shop", "r", { parentRefs: [svcParent("web")], rules: [{ backendRefs: [backend("web-v2"), c.ref] }] })], [], c.grants ?? []);
      assert.deepEqual(conditions(t.outcomes), [{ accepted: "true/Accepted", resolvedRefs: `false/${c.reason}` }]);
      assert.deepEqual(t.model.routes[0]!.rules[0]!.rule.backends?.map((b) => b.invalid), [false, true]);
    });
  }

  it("permits a cross-namespace backend with a ReferenceGrant (any Service, or that one by name)", () => {
    for (const grant of [referenceGrant("other", "shop"), referenceGrant("other", "shop", "HTTPRoute", { group: "", kind: "Service", name: "api" })]) {
      const t = translate(services, [httpRoute("shop", "r", { parentRefs: [svcParent("web")], rules: [{ backendRefs: [backend("api", 80, { namespace: "other" })] }] })], [], [grant]);
      assert.deepEqual(conditions(t.outcomes), [{ accepted: "true/Accepted", resolvedRefs: "true/ResolvedRefs" }]);
      assert.equal(t.model.routes[0]!.rules[0]!.rule.backends?.[0]?.service, "other/api");
    }
  });

  it("permits a consumer route's backend that is its own parent Service in another namespace without a ReferenceGrant, but no other Service there", () => {
    const t = translate(services, [
      httpRoute("shop", "consumer", { parentRefs: [svcParent("api", { namespace: "other", port: 80 })], rules: [{ backendRefs: [backend("api", 80, { namespace: "other" })] }] }),
    ]);
    assert.deepEqual(conditions(t.outcomes), [{ accepted: "true/Accepted", resolvedRefs: "true/ResolvedRefs" }]);
    assert.deepEqual(t.model.routes[0]!.rules[0]!.rule.backends?.map((b) => [b.service, b.invalid]), [["other/api", false]]);
    const elsewhere = translate(mesh([service("other", "api", []), service("other", "db", [])]).services, [
      httpRoute("shop", "consumer", { parentRefs: [svcParent("api", { namespace: "other", port: 80 })], rules: [{ backendRefs: [backend("db", 80, { namespace: "other" })] }] }),
    ]);
    assert.deepEqual(conditions(elsewhere.outcomes), [{ accepted: "true/Accepted", resolvedRefs: "false/RefNotPermitted" }]);
  });

  it("answers 500 for a rule with an unsupported filter (never skips it) and says ResolvedRefs False UnsupportedValue", () => {
    const t = translate(services, [
      httpRoute("shop", "r", {
        parentRefs: [svcParent("web")],
        rules: [
          { matches: [{ path: { type: "PathPrefix", value: "/ext" } }], filters: [{ type: "ExtensionRef", extensionRef: { group: "x", kind: "Y", name: "z" } }], backendRefs: [backend("web")] },
          { backendRefs: [backend("web", 80, { filters: [{ type: "CORS", cors: {} }] })] },
          { backendRefs: [backend("web-v2")] },
        ],
      }),
    ]);
    assert.deepEqual(conditions(t.outcomes), [{ accepted: "true/Accepted", resolvedRefs: "false/UnsupportedValue" }]);
    const rules = t.model.routes[0]!.rules.map((r) => r.rule);
    assert.deepEqual(rules[0]!.backends, []);
    assert.deepEqual(rules[1]!.backends?.map((b) => b.invalid), [true]);
    assert.deepEqual(rules[2]!.backends?.map((b) => b.invalid), [false]);
  });

  const valueCases: { name: string; rule: Record<string, unknown> }[] = [
    { name: "a path regex that does not compile", rule: { matches: [{ path: { type: "RegularExpression", value: "/a(b" } }] } },
    { name: "a path regex with a backreference (RE2 has none)", rule: { matches: [{ path: { type: "RegularExpression", value: "/(a)\\1" } }] } },
    { name: "a header regex with lookahead (RE2 has none)", rule: { matches: [{ headers: [{ type: "RegularExpression", name: "x", value: "a(?=b)" }] }] } },
    { name: "a query regex with lookbehind", rule: { matches: [{ queryParams: [{ type: "RegularExpression", name: "q", value: "(?<!a)b" }] }] } },
    { name: "a bad timeout", rule: { timeouts: { request: "10 seconds" } } },
    { name: "a redirect status outside the CRD's enum (301, 302, 303, 307, 308)", rule: { filters: [{ type: "RequestRedirect", requestRedirect: { statusCode: 304 } }] } },
  ];
  for (const c of valueCases) {
    it(`refuses a route with ${c.name}: Accepted False UnsupportedValue, not sent, and other routes unaffected`, () => {
      const t = translate(services, [
        httpRoute("shop", "bad", { parentRefs: [svcParent("web")], rules: [{ ...c.rule, backendRefs: [backend("web")] }] }),
        httpRoute("shop", "good", { parentRefs: [svcParent("web")], rules: [{ backendRefs: [backend("web-v2")] }] }),
      ]);
      const bad = t.outcomes.find((o) => o.name === "bad")!;
      assert.equal(bad.parents[0]!.accepted.reason, "UnsupportedValue");
      assert.equal(bad.parents[0]!.accepted.status, false);
      assert.deepEqual(t.model.routes.map((r) => r.name), ["good"]);
    });
  }

  it("refuses a GRPCRoute whose method regex does not compile", () => {
    const t = translate(services, [], [grpcRoute("shop", "g", { parentRefs: [svcParent("grpc")], rules: [{ matches: [{ method: { type: "RegularExpression", service: "a.(", method: "Get" } }] }] })]);
    assert.equal(only(t.outcomes)[0]!.accepted.reason, "UnsupportedValue");
  });

  it("translates matches, filters, timeouts and retry to the wire", () => {
    const t = translate(services, [
      httpRoute("shop", "r", {
        parentRefs: [svcParent("web", { port: 80 })],
        rules: [
          {
            name: "full",
            matches: [{ path: { type: "Exact", value: "/x" }, method: "post", headers: [{ name: "X-Env", value: "canary" }, { name: "x-env", value: "ignored" }, { type: "RegularExpression", name: "x-id", value: "^[0-9]+$" }], queryParams: [{ name: "Q", value: "1" }] }],
            filters: [
              { type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "X-A", value: "1" }], add: [{ name: "x-b", value: "2" }], remove: ["X-C"] } },
              { type: "ResponseHeaderModifier", responseHeaderModifier: { add: [{ name: "x-r", value: "3" }] } },
              { type: "URLRewrite", urlRewrite: { hostname: "h", path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/y" } } },
              { type: "RequestMirror", requestMirror: { backendRef: { name: "web-v2", port: 80 }, fraction: { numerator: 1, denominator: 4 } } },
            ],
            timeouts: { request: "1m30s", backendRequest: "500ms" },
            retry: { attempts: 3, codes: [503], backoff: "100ms" },
            backendRefs: [backend("web", 80, { weight: 0 })],
          },
          { filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", port: 443, path: { type: "ReplaceFullPath", replaceFullPath: "/z" }, statusCode: 301 } }] },
        ],
      }),
    ]);
    const [full, redirect] = t.model.routes[0]!.rules;
    assert.deepEqual(full!.matches[0], {
      path: { type: "EXACT", value: "/x" },
      method: "POST",
      headers: [{ name: "x-env", regex: false, value: "canary" }, { name: "x-id", regex: true, value: "^[0-9]+$" }],
      queryParams: [{ name: "Q", regex: false, value: "1" }],
      grpc: null,
    });
    assert.deepEqual(full!.rule.filters, [
      { requestHeaderModifier: { set: [{ name: "x-a", value: "1" }], add: [{ name: "x-b", value: "2" }], remove: ["x-c"] } },
      { responseHeaderModifier: { set: [], add: [{ name: "x-r", value: "3" }], remove: [] } },
      { urlRewrite: { hostname: "h", path: { type: "REPLACE_PREFIX_MATCH", value: "/y" } } },
      { requestMirror: { service: "shop/web-v2", port: 80, percent: 25 } },
    ]);
    assert.equal(full!.rule.requestTimeoutMs, 90_000);
    assert.equal(full!.rule.backendRequestTimeoutMs, 500);
    assert.deepEqual(full!.rule.retry, { attempts: 3, codes: [503], backoffMs: 100 });
    assert.deepEqual(full!.rule.backends, [{ service: "shop/web", port: 80, weight: 0, filters: [], invalid: false }]);
    assert.deepEqual(redirect!.rule.filters, [{ requestRedirect: { scheme: "https", hostname: "", port: 443, path: { type: "REPLACE_FULL_PATH", value: "/z" }, statusCode: 301 } }]);
    assert.deepEqual(redirect!.rule.backends, []);
    assert.equal(redirect!.rule.requestTimeoutMs, undefined, "unset timeouts stay unset");
  });

  it("translates GRPCRoute matches (service, method, regex) and defaults a rule without matches to every call", () => {
    const t = translate(services, [], [
      grpcRoute("shop", "g", { parentRefs: [svcParent("grpc")], rules: [{ matches: [{ method: { service: "echo.Echo", method: "Ping" }, headers: [{ name: "X-V", value: "2" }] }], backendRefs: [backend("grpc", 9000)] }, { backendRefs: [backend("grpc", 9000)] }] }),
    ]);
    const [a, b] = t.model.routes[0]!.rules;
    assert.deepEqual(a!.matches[0], { path: { type: "ANY", value: "" }, method: "", headers: [{ name: "x-v", regex: false, value: "2" }], queryParams: [], grpc: { service: "echo.Echo", method: "Ping", regex: false } });
    assert.deepEqual(b!.matches[0]!.grpc, { service: "", method: "", regex: false });
    assert.equal(a!.rule.kind, "GRPCRoute");
    assert.equal(a!.rule.route, "shop/g");
  });

  it("notes in Accepted's message a route whose matches an older route of the same namespace already has (conflict)", () => {
    const t = translate(services, [
      httpRoute("shop", "newer", { parentRefs: [svcParent("web")], rules: [{ matches: [{ path: { type: "PathPrefix", value: "/a" } }], backendRefs: [backend("web-v2")] }] }, { created: "2025-02-01T00:00:00Z" }),
      httpRoute("shop", "older", { parentRefs: [svcParent("web")], rules: [{ matches: [{ path: { type: "PathPrefix", value: "/a" } }], backendRefs: [backend("web")] }] }, { created: "2025-01-01T00:00:00Z" }),
    ]);
    const newer = t.outcomes.find((o) => o.name === "newer")!.parents[0]!.accepted;
    const older = t.outcomes.find((o) => o.name === "older")!.parents[0]!.accepted;
    assert.equal(newer.status, true);
    assert.match(newer.message, /conflict.*shop\/older/);
    assert.doesNotMatch(older.message, /conflict/);
    assert.deepEqual(t.model.routes.map((r) => r.name), ["older", "newer"]);
  });
});

describe("routes: values", () => {
  const regexes: [string, boolean][] = [
    ["^/api/v[0-9]+/.*$", true],
    ["/a\\\\1", true], // an escaped backslash then "1", no backreference
    ["[\\1]", true],
    ["(?:a|b)+", true],
    ["(?<name>a)", true],
    ["(a)\\1", false],
    ["(?<n>a)\\k<n>", false],
    ["a(?=b)", false],
    ["a(?!b)", false],
    ["(?<=a)b", false],
    ["(?<!a)b", false],
    ["[(?=]x", true],
    ["a(", false],
    ["*a", false],
  ];
  for (const [pattern, good] of regexes) {
    it(`${good ? "accepts" : "refuses"} the regex ${pattern}`, () => assert.equal(checkRegex(pattern).ok, good));
  }
  const durations: [string, number | null][] = [["10s", 10_000], ["1h30m", 5_400_000], ["500ms", 500], ["0s", 0], ["1h1m1s1ms", 3_661_001], ["10", null], ["1.5s", null], ["-1s", null], ["1d", null]];
  for (const [text, ms] of durations) {
    it(`reads the duration ${text} as ${ms ?? "invalid"}`, () => {
      const r = parseGatewayDuration(text);
      assert.deepEqual(r.ok ? r.value : null, ms);
    });
  }
});
