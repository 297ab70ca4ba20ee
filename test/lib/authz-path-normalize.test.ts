import assert from "node:assert/strict";
import type { Authorization__Output } from "../../api/gen/weft/discovery/v1/Authorization.ts";
import { compileAuthorization, evaluate, readsPath } from "../../lib/authz/evaluate.ts";
import { evaluateRequest } from "../../lib/authz/evaluate-request.ts";
import { isNormalPath, normalizePath } from "../../lib/authz/path-normalize.ts";

describe("authorization paths: the normal form an app may read a path as", () => {
  const cases: [string, string, string][] = [
    ["a plain path is its own normal form", "/api/v1/items", "/api/v1/items"],
    ["the root stays the root", "/", "/"],
    ["a trailing slash is kept", "/admin/", "/admin/"],
    ["a dot-dot segment removes the one before it", "/x/../admin/keys", "/admin/keys"],
    ["dot-dot cannot climb above the root", "/../../admin", "/admin"],
    ["a single dot segment goes away", "/./admin/./keys", "/admin/keys"],
    ["a trailing dot-dot leaves a directory", "/a/b/..", "/a/"],
    ["runs of slashes merge", "//admin///keys", "/admin/keys"],
    ["an escaped letter is decoded", "/%61dmin/keys", "/admin/keys"],
    ["an escaped slash is decoded", "/admin%2Fkeys", "/admin/keys"],
    ["an escaped backslash reads as a slash", "/admin%5Ckeys", "/admin/keys"],
    ["a backslash reads as a slash", "/admin\\keys", "/admin/keys"],
    ["an escaped dot-dot is resolved after decoding", "/x/%2e%2e/admin", "/admin"],
    ["an escaped percent stays escaped, so no new escape appears", "/a%252Fb", "/a%252Fb"],
    ["an escaped control character stays escaped, upper-cased", "/a%0ab", "/a%0Ab"],
    ["a broken escape is left as it is", "/a%zz/%4", "/a%zz/%4"],
    ["dots inside a segment are not dot segments", "/a/..b/.c", "/a/..b/.c"],
  ];
  for (const [name, path, normal] of cases) {
    it(`${name}: ${JSON.stringify(path)} -> ${JSON.stringify(normal)}`, () => {
      assert.equal(normalizePath(path), normal);
      assert.equal(normalizePath(normal), normal, "the normal form is stable");
    });
  }

  it("tells a path needs no work in one scan, and never says so of one that changes", () => {
    assert.equal(isNormalPath("/api/v1/items.json"), true);
    for (const [, path, normal] of cases) if (path !== normal) assert.equal(isNormalPath(path), false, path);
  });
});

describe("authorization decisions on both readings of a path", () => {
  const authorization = (policies: Authorization__Output["policies"]): Authorization__Output => ({
    defaultPolicy: "DEFAULT_ALL_AUTHENTICATED", defaultDryRun: false, trustDomain: "cluster.local", policies,
  });
  const rule = (paths: { exact?: string; prefix?: string }[]) => ({
    from: [],
    to: [{ ports: [], notPorts: [], methods: [], notMethods: [], paths: paths.map((p) => ({ exact: p.exact ?? "", prefix: p.prefix ?? "", match: p.exact !== undefined ? "exact" as const : "prefix" as const })), notPaths: [], hosts: [], notHosts: [], grpc: [] }],
  });
  const compiled = (policies: Authorization__Output["policies"]) => {
    const c = compileAuthorization(authorization(policies));
    assert.ok(c.ok, JSON.stringify(c));
    return c.value;
  };
  const request = (path: string) => ({ port: 8080, peer: "spiffe://cluster.local/ns/a/sa/b", http: { method: "GET", path, host: "svc", grpc: false } });

  it("a DENY on a prefix refuses every spelling that reaches it", () => {
    const c = compiled([{ name: "ns/no-admin", action: "DENY", ports: [], rules: [rule([{ prefix: "/admin/" }])] }]);
    for (const path of ["/admin/keys", "/x/../admin/keys", "//admin/keys", "/%61dmin/keys", "/admin%2Fkeys", "/admin\\keys"]) {
      const d = evaluateRequest(c, request(path));
      assert.equal(d.allowed, false, path);
      assert.equal(d.policy, "ns/no-admin", path);
    }
    assert.equal(evaluateRequest(c, request("/public/x")).allowed, true);
  });

  it("an ALLOW on an exact path lets the path as sent through, and refuses spellings that do not match as sent", () => {
    const c = compiled([{ name: "ns/charge", action: "ALLOW", ports: [], rules: [rule([{ exact: "/charge" }])] }]);
    assert.equal(evaluateRequest(c, request("/charge")).allowed, true);
    assert.equal(evaluateRequest(c, request("//charge")).allowed, false);
    assert.equal(evaluateRequest(c, request("/refund/../charge")).allowed, false);
  });

  it("a set that reads no path decides every spelling as its normal form (so the second reading is skipped)", () => {
    const byMethod = { ...rule([]), to: [{ ...rule([]).to[0]!, paths: [], methods: ["GET"], hosts: ["svc"] }] };
    const c = compiled([{ name: "ns/no-post", action: "DENY", ports: [], rules: [{ ...byMethod, to: [{ ...byMethod.to[0]!, methods: ["POST"] }] }] }, { name: "ns/get", action: "ALLOW", ports: [], rules: [byMethod] }]);
    assert.equal(readsPath(c), false);
    assert.equal(readsPath(compiled([{ name: "ns/charge", action: "ALLOW", ports: [], rules: [rule([{ exact: "/charge" }])] }])), true);
    for (const path of ["/admin/keys", "/x/../admin/keys", "//admin/keys", "/%61dmin/keys", "/a%0ab"]) {
      for (const method of ["GET", "POST", "PUT"]) {
        const sent = { ...request(path), http: { ...request(path).http, method } };
        const normal = { ...sent, http: { ...sent.http, path: normalizePath(path) } };
        assert.deepEqual(evaluateRequest(c, sent), evaluate(c, normal), `${method} ${path}`);
      }
    }
  });
});
