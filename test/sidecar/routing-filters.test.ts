import { strict as assert } from "node:assert";
import type { PathModifier__Output } from "../../api/gen/weft/discovery/v1/PathModifier.ts";
import type { RequestRedirect__Output } from "../../api/gen/weft/discovery/v1/RequestRedirect.ts";
import { modifyRequestFields, modifyResponseHeaders } from "../../sidecar/src/routing/header-filters.ts";
import { mirrorsFor } from "../../sidecar/src/routing/request-mirror.ts";
import type { CompiledPathMatch } from "../../sidecar/src/routing/route-table.ts";
import { hostOf, redirectFor, replacePrefix, rewriteTarget } from "../../sidecar/src/routing/url-filters.ts";

const prefix = (value: string): CompiledPathMatch => ({ type: "prefix", value: value.endsWith("/") ? value.slice(0, -1) : value });

describe("routing: URLRewrite ReplacePrefixMatch (every example of Gateway API's HTTPPathModifier)", () => {
  // [matched prefix, request path, replacement, modified path]
  const cases: [string, string, string, string][] = [
    ["/foo", "/foo/bar", "/xyz", "/xyz/bar"],
    ["/foo", "/foo/bar", "/xyz/", "/xyz/bar"],
    ["/foo/", "/foo/bar", "/xyz", "/xyz/bar"],
    ["/foo/", "/foo/bar", "/xyz/", "/xyz/bar"],
    ["/foo", "/foo", "/xyz", "/xyz"],
    ["/foo/", "/foo", "/xyz", "/xyz"],
    ["/foo", "/foo/", "/xyz", "/xyz/"],
    ["/foo", "/foo/bar", "", "/bar"],
    ["/foo/", "/foo/bar", "", "/bar"],
    ["/foo", "/foo", "", "/"],
    ["/foo/", "/foo/", "", "/"],
    ["/foo", "/foo/", "/", "/"],
    ["/foo", "/foo", "/", "/"],
    ["/", "/foo/bar", "/xyz", "/xyz/foo/bar"],
    ["/", "/", "/xyz", "/xyz/"],
  ];
  for (const [matched, path, replacement, want] of cases) {
    it(`prefix ${matched}, path ${path}, replacement "${replacement}" -> ${want}`, () => assert.equal(replacePrefix(path, replacement, prefix(matched)), want));
  }

  it("keeps the query, rewrites the hostname, and leaves a non-prefix match's path alone", () => {
    const rewrite = { hostname: "new.example", path: { type: "REPLACE_PREFIX_MATCH", value: "/v2" } as PathModifier__Output };
    assert.deepEqual(rewriteTarget("/v1/items?x=1&y=2", "echo.default:80", rewrite, prefix("/v1")), { path: "/v2/items?x=1&y=2", authority: "new.example" });
    assert.deepEqual(rewriteTarget("/a", "h", { hostname: "", path: { type: "REPLACE_FULL_PATH", value: "/full" } }, prefix("/")), { path: "/full", authority: "h" });
    assert.equal(replacePrefix("/abc", "/x", { type: "regex", regex: /^\/a.*$/ }), "/abc");
  });
});

describe("routing: RequestRedirect's Location", () => {
  const redirect = (r: Partial<RequestRedirect__Output>): RequestRedirect__Output => ({ scheme: "", hostname: "", port: 0, path: null, statusCode: 0, ...r });
  // [what, target, authority, listener port, filter, status, Location]
  const cases: [string, string, string, number, Partial<RequestRedirect__Output>, number, string][] = [
    ["hostname only, on port 80: no port shown", "/a?b=c", "echo.default", 80, { hostname: "other.example" }, 302, "http://other.example/a?b=c"],
    ["hostname only, on port 8080: the listener port is kept", "/a", "echo.default:8080", 8080, { hostname: "other.example" }, 302, "http://other.example:8080/a"],
    ["scheme https: its well-known port, not shown", "/a", "echo:8080", 8080, { scheme: "https" }, 302, "https://echo/a"],
    ["scheme https and port 8443", "/a", "echo", 80, { scheme: "https", port: 8443 }, 302, "https://echo:8443/a"],
    ["port 80 with http: not shown", "/a", "echo:8080", 8080, { port: 80 }, 302, "http://echo/a"],
    ["301 with a full path replacement", "/old?q=1", "echo", 80, { statusCode: 301, path: { type: "REPLACE_FULL_PATH", value: "/new" } }, 301, "http://echo/new?q=1"],
    ["prefix replacement", "/old/x", "echo", 80, { path: { type: "REPLACE_PREFIX_MATCH", value: "/new" } }, 302, "http://echo/new/x"],
    ["an IPv6 host is bracketed", "/", "[fd00::1]:80", 80, {}, 302, "http://[fd00::1]/"],
  ];
  for (const [name, target, authority, port, filter, status, location] of cases) {
    it(name, () => assert.deepEqual(redirectFor(target, authority, "http", port, redirect(filter), prefix("/old")), { status, location }));
  }

  it("the host of an authority drops its port", () => {
    assert.equal(hostOf("a.b:80"), "a.b");
    assert.equal(hostOf("a.b"), "a.b");
    assert.equal(hostOf("[::1]:80"), "::1");
  });
});

describe("routing: header modifiers", () => {
  it("request: set replaces every value, add appends, remove drops; names case-insensitive", () => {
    const fields = ["host", "h", "x-a", "1", "x-a", "2", "x-b", "keep", "x-gone", "bye"];
    const out = modifyRequestFields(fields, { set: [{ name: "X-A", value: "set" }], add: [{ name: "X-B", value: "more" }, { name: "x-new", value: "n" }], remove: ["X-Gone"] });
    assert.deepEqual(out, ["host", "h", "x-b", "keep", "x-a", "set", "x-b", "more", "x-new", "n"]);
    assert.deepEqual(fields.length, 10, "the request's own list is untouched");
  });

  it("response: set, add and remove on a copy of the head's headers", () => {
    const headers = { "content-type": "text/plain", "X-Up": "1", server: "app" };
    const out = modifyResponseHeaders(headers, { set: [{ name: "x-up", value: "2" }], add: [{ name: "x-add", value: "a" }, { name: "content-type", value: "b" }], remove: ["Server"] });
    assert.deepEqual(out, { "content-type": ["text/plain", "b"], "x-up": "2", "x-add": "a" });
    assert.equal(headers.server, "app");
  });
});

describe("routing: RequestMirror's percent", () => {
  it("100 % always, 0 % never, 25 % a quarter of the seeded draws", () => {
    const m = (percent: number) => ({ service: "default/m", port: 0, percent });
    assert.equal(mirrorsFor([m(100)], () => 0.999).length, 1);
    assert.equal(mirrorsFor([m(0)], () => 0).length, 0);
    let x = 0;
    const step = (): number => (x = (x + 0.01) % 1);
    let n = 0;
    for (let i = 0; i < 1000; i++) n += mirrorsFor([m(25)], step).length;
    assert.ok(Math.abs(n - 250) <= 10, String(n));
  });
});
