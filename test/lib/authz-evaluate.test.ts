import assert from "node:assert/strict";
import type { Authorization__Output } from "../../api/gen/weft/discovery/v1/Authorization.ts";
import type { AuthorizationOperation__Output } from "../../api/gen/weft/discovery/v1/AuthorizationOperation.ts";
import type { AuthorizationPolicy__Output } from "../../api/gen/weft/discovery/v1/AuthorizationPolicy.ts";
import type { AuthorizationSource__Output } from "../../api/gen/weft/discovery/v1/AuthorizationSource.ts";
import type { DefaultInboundPolicy__Output } from "../../api/gen/weft/discovery/v1/DefaultInboundPolicy.ts";
import type { AuthzDecision, AuthzRequest } from "../../lib/authz/decision.ts";
import { acceptsPlaintext, compileAuthorization, evaluate } from "../../lib/authz/evaluate.ts";
import { seededRandom } from "../support/random.ts";
import { authz, CHECKOUT, compiled, decide, FOREIGN, http, id, naiveEvaluate, policy, req, rule, tcp, TD, WEB } from "./authz-evaluate-support.ts";

// ---------------------------------------------------------------- the tables

interface Case {
  name: string;
  authorization: Authorization__Output;
  request: AuthzRequest;
  /** The fields of the decision the case proves. */
  expect: Partial<AuthzDecision>;
}

function runCases(cases: Case[]): void {
  for (const c of cases) {
    it(c.name, () => {
      const d = decide(c.authorization, c.request);
      for (const [key, value] of Object.entries(c.expect)) assert.deepEqual(d[key as keyof AuthzDecision], value, `${key} of ${JSON.stringify(d)}`);
    });
  }
}

const allowFrom = (from: Partial<AuthorizationSource__Output>) => authz([policy("shop/allow", "ALLOW", [rule([from])])]);
const allowTo = (to: Partial<AuthorizationOperation__Output>) => authz([policy("shop/allow", "ALLOW", [rule([], [to])])]);
const denyTo = (to: Partial<AuthorizationOperation__Output>) => authz([policy("shop/deny", "DENY", [rule([], [to])])], "DEFAULT_ALL_UNAUTHENTICATED");
const ALLOWED = { allowed: true, kind: "allow-policy", policy: "shop/allow" } as const;
const NO_MATCH = { allowed: false, kind: "no-allow-match", policy: "shop/allow" } as const;

describe("authorization: source fields", () => {
  runCases([
    { name: "identities admits an exact id", authorization: allowFrom({ identities: [CHECKOUT] }), request: req(CHECKOUT), expect: ALLOWED },
    { name: "identities refuses another id", authorization: allowFrom({ identities: [CHECKOUT] }), request: req(WEB), expect: NO_MATCH },
    { name: "a lone * in identities admits any mesh id", authorization: allowFrom({ identities: ["*"] }), request: req(FOREIGN), expect: ALLOWED },
    { name: "a lone * in identities refuses a plaintext caller", authorization: allowFrom({ identities: ["*"] }), request: req(null), expect: NO_MATCH },
    { name: "a * segment matches any ServiceAccount of the namespace", authorization: allowFrom({ identities: [id("shop", "*")] }), request: req(WEB), expect: ALLOWED },
    { name: "a * segment does not match another namespace", authorization: allowFrom({ identities: [id("shop", "*")] }), request: req(CHECKOUT), expect: NO_MATCH },
    { name: "a * segment stands for exactly one segment, not two", authorization: allowFrom({ identities: [id("shop", "*")] }), request: req(`${WEB}/extra`), expect: NO_MATCH },
    { name: "a * segment does not match an empty segment", authorization: allowFrom({ identities: [id("shop", "*")] }), request: req(id("shop", "")), expect: NO_MATCH },
    { name: "a * namespace segment matches the ServiceAccount in any namespace", authorization: allowFrom({ identities: [id("*", "web")] }), request: req(id("ops", "web")), expect: ALLOWED },
    { name: "a * trust domain segment matches any trust domain", authorization: allowFrom({ identities: ["spiffe://*/ns/shop/sa/web"] }), request: req(FOREIGN), expect: ALLOWED },
    { name: "an id that is not a workload id can still match identities", authorization: allowFrom({ identities: [id("shop", "*")] }), request: req(id("shop", "UPPER")), expect: ALLOWED },
    { name: "notIdentities excludes a matching id", authorization: allowFrom({ notIdentities: [CHECKOUT] }), request: req(CHECKOUT), expect: NO_MATCH },
    { name: "notIdentities admits another mesh id", authorization: allowFrom({ notIdentities: [CHECKOUT] }), request: req(WEB), expect: ALLOWED },
    { name: "notIdentities never admits a plaintext caller", authorization: allowFrom({ notIdentities: [CHECKOUT] }), request: req(null), expect: NO_MATCH },
    { name: "notIdentities with a * segment excludes the whole namespace", authorization: allowFrom({ notIdentities: [id("shop", "*")] }), request: req(WEB), expect: NO_MATCH },
    { name: "namespaces admits a caller of the namespace", authorization: allowFrom({ namespaces: ["shop"] }), request: req(WEB), expect: ALLOWED },
    { name: "namespaces refuses a caller of another namespace", authorization: allowFrom({ namespaces: ["shop"] }), request: req(CHECKOUT), expect: NO_MATCH },
    { name: "namespaces refuses an id that is not a workload id", authorization: allowFrom({ namespaces: ["shop"] }), request: req(id("shop", "UPPER")), expect: NO_MATCH },
    { name: "notNamespaces excludes a caller of the namespace", authorization: allowFrom({ notNamespaces: ["shop"] }), request: req(WEB), expect: NO_MATCH },
    { name: "notNamespaces admits a caller of another namespace", authorization: allowFrom({ notNamespaces: ["shop"] }), request: req(CHECKOUT), expect: ALLOWED },
    { name: "notNamespaces refuses an id that is not a workload id (never widens)", authorization: allowFrom({ notNamespaces: ["shop"] }), request: req("spiffe://cluster.local/other"), expect: NO_MATCH },
    { name: "serviceAccounts admits ns/sa", authorization: allowFrom({ serviceAccounts: ["checkout/checkout"] }), request: req(CHECKOUT), expect: ALLOWED },
    { name: "serviceAccounts refuses the same name in another namespace", authorization: allowFrom({ serviceAccounts: ["checkout/checkout"] }), request: req(id("shop", "checkout")), expect: NO_MATCH },
    { name: "notServiceAccounts excludes ns/sa", authorization: allowFrom({ notServiceAccounts: ["checkout/checkout"] }), request: req(CHECKOUT), expect: NO_MATCH },
    { name: "notServiceAccounts admits another ServiceAccount", authorization: allowFrom({ notServiceAccounts: ["checkout/checkout"] }), request: req(WEB), expect: ALLOWED },
    { name: "fields of one entry are ANDed", authorization: allowFrom({ namespaces: ["shop"], notServiceAccounts: ["shop/web"] }), request: req(WEB), expect: NO_MATCH },
    { name: "an empty entry ({}) admits any mesh caller", authorization: allowFrom({}), request: req(FOREIGN), expect: ALLOWED },
    { name: "an empty entry ({}) refuses a plaintext caller", authorization: allowFrom({}), request: req(null), expect: NO_MATCH },
    { name: "unauthenticated admits a plaintext caller", authorization: allowFrom({ unauthenticated: true }), request: req(null), expect: ALLOWED },
    { name: "unauthenticated refuses a mesh caller", authorization: allowFrom({ unauthenticated: true }), request: req(WEB), expect: NO_MATCH },
    { name: "no from admits any caller, plaintext included", authorization: authz([policy("shop/allow", "ALLOW", [rule()])]), request: req(null), expect: ALLOWED },
    {
      name: "from entries are ORed",
      authorization: authz([policy("shop/allow", "ALLOW", [rule([{ identities: [CHECKOUT] }, { namespaces: ["shop"] }])])]),
      request: req(WEB),
      expect: ALLOWED,
    },
  ]);
});

describe("authorization: operation fields", () => {
  runCases([
    { name: "ports admits the listed port", authorization: allowTo({ ports: [8080] }), request: req(WEB), expect: ALLOWED },
    { name: "ports refuses another port", authorization: allowTo({ ports: [9090] }), request: req(WEB), expect: NO_MATCH },
    { name: "notPorts refuses the listed port", authorization: allowTo({ notPorts: [8080] }), request: req(WEB), expect: NO_MATCH },
    { name: "notPorts admits another port", authorization: allowTo({ notPorts: [9090] }), request: req(WEB), expect: ALLOWED },
    { name: "methods admits the method, compared upper-case", authorization: allowTo({ methods: ["post"] }), request: req(WEB, http("POST")), expect: ALLOWED },
    { name: "methods refuses another method", authorization: allowTo({ methods: ["POST"] }), request: req(WEB, http("GET")), expect: NO_MATCH },
    { name: "notMethods refuses the method", authorization: allowTo({ notMethods: ["DELETE"] }), request: req(WEB, http("DELETE")), expect: NO_MATCH },
    { name: "notMethods admits another method", authorization: allowTo({ notMethods: ["DELETE"] }), request: req(WEB, http("GET")), expect: ALLOWED },
    { name: "an exact path admits that path only", authorization: allowTo({ paths: [{ exact: "/charge" }] }), request: req(WEB, http("GET", "/charge")), expect: ALLOWED },
    { name: "an exact path refuses a longer path", authorization: allowTo({ paths: [{ exact: "/charge" }] }), request: req(WEB, http("GET", "/charge/1")), expect: NO_MATCH },
    { name: "a prefix path admits paths under it", authorization: allowTo({ paths: [{ prefix: "/api/" }] }), request: req(WEB, http("GET", "/api/v1/x")), expect: ALLOWED },
    { name: "a prefix path refuses other paths", authorization: allowTo({ paths: [{ prefix: "/api/" }] }), request: req(WEB, http("GET", "/apix")), expect: NO_MATCH },
    { name: "a path given with its oneof name matches", authorization: allowTo({ paths: [{ prefix: "/api/", match: "prefix" }] }), request: req(WEB, http("GET", "/api/x")), expect: ALLOWED },
    { name: "notPaths refuses a path under the prefix", authorization: allowTo({ notPaths: [{ prefix: "/admin" }] }), request: req(WEB, http("GET", "/admin/x")), expect: NO_MATCH },
    { name: "notPaths admits other paths", authorization: allowTo({ notPaths: [{ prefix: "/admin" }] }), request: req(WEB, http("GET", "/shop")), expect: ALLOWED },
    { name: "hosts admits an exact host, case-insensitively", authorization: allowTo({ hosts: ["Shop.Example.com"] }), request: req(WEB, http("GET", "/", "shop.example.com")), expect: ALLOWED },
    { name: "hosts refuses another host", authorization: allowTo({ hosts: ["shop.example.com"] }), request: req(WEB, http("GET", "/", "api.example.com")), expect: NO_MATCH },
    { name: "a *.suffix host admits a subdomain", authorization: allowTo({ hosts: ["*.example.com"] }), request: req(WEB, http("GET", "/", "a.b.example.com")), expect: ALLOWED },
    { name: "a *.suffix host refuses the bare domain", authorization: allowTo({ hosts: ["*.example.com"] }), request: req(WEB, http("GET", "/", "example.com")), expect: NO_MATCH },
    { name: "notHosts refuses the host", authorization: allowTo({ notHosts: ["*.internal"] }), request: req(WEB, http("GET", "/", "db.internal")), expect: NO_MATCH },
    { name: "notHosts admits another host", authorization: allowTo({ notHosts: ["*.internal"] }), request: req(WEB, http("GET", "/", "shop.example.com")), expect: ALLOWED },
    { name: "fields of one operation are ANDed", authorization: allowTo({ methods: ["GET"], paths: [{ exact: "/a" }] }), request: req(WEB, http("GET", "/b")), expect: NO_MATCH },
    {
      name: "to entries are ORed",
      authorization: authz([policy("shop/allow", "ALLOW", [rule([], [{ methods: ["POST"] }, { paths: [{ exact: "/b" }] }])])]),
      request: req(WEB, http("GET", "/b")),
      expect: ALLOWED,
    },
  ]);
});

describe("authorization: gRPC calls", () => {
  const payments = { service: "weft.demo.v1.Payments", method: "Charge" };
  runCases([
    { name: "grpc admits the named call", authorization: allowTo({ grpc: [payments] }), request: req(WEB, http("POST", "/weft.demo.v1.Payments/Charge", "pay", true)), expect: ALLOWED },
    { name: "grpc refuses another method of the service", authorization: allowTo({ grpc: [payments] }), request: req(WEB, http("POST", "/weft.demo.v1.Payments/Refund", "pay", true)), expect: NO_MATCH },
    { name: "grpc without a method admits every method of the service", authorization: allowTo({ grpc: [{ service: "weft.demo.v1.Payments", method: "" }] }), request: req(WEB, http("POST", "/weft.demo.v1.Payments/Refund", "pay", true)), expect: ALLOWED },
    { name: "grpc without a method refuses a path with more segments", authorization: allowTo({ grpc: [{ service: "weft.demo.v1.Payments", method: "" }] }), request: req(WEB, http("POST", "/weft.demo.v1.Payments/Refund/x", "pay", true)), expect: NO_MATCH },
    { name: "grpc refuses a plain HTTP request on the same path", authorization: allowTo({ grpc: [payments] }), request: req(WEB, http("POST", "/weft.demo.v1.Payments/Charge", "pay", false)), expect: NO_MATCH },
    { name: "grpc refuses a service that only shares the prefix", authorization: allowTo({ grpc: [{ service: "weft.demo.v1.Pay", method: "" }] }), request: req(WEB, http("POST", "/weft.demo.v1.Payments/Charge", "pay", true)), expect: NO_MATCH },
  ]);
});

describe("authorization: opaque TCP", () => {
  runCases([
    { name: "an ALLOW entry with an HTTP field does not match a TCP connection", authorization: allowTo({ ports: [8080], methods: ["GET"] }), request: tcp(WEB), expect: NO_MATCH },
    { name: "an ALLOW entry with only ports matches a TCP connection", authorization: allowTo({ ports: [8080] }), request: tcp(WEB), expect: ALLOWED },
    { name: "a DENY entry with an HTTP field matches a TCP connection", authorization: denyTo({ paths: [{ prefix: "/admin" }] }), request: tcp(WEB), expect: { allowed: false, kind: "deny-policy", policy: "shop/deny" } },
    { name: "a DENY entry with a negated HTTP field matches a TCP connection too", authorization: denyTo({ notMethods: ["GET"] }), request: tcp(WEB), expect: { allowed: false, kind: "deny-policy" } },
    { name: "a DENY entry's ports still apply to a TCP connection", authorization: denyTo({ ports: [9090], methods: ["GET"] }), request: tcp(WEB), expect: { allowed: true, kind: "default" } },
    {
      name: "an AUDIT entry with an HTTP field does not match a TCP connection",
      authorization: authz([policy("shop/audit", "AUDIT", [rule([], [{ methods: ["GET"] }])])]),
      request: tcp(WEB),
      expect: { audited: [] },
    },
  ]);
});

describe("authorization: precedence", () => {
  const allowWeb = policy("shop/allow-web", "ALLOW", [rule([{ identities: [WEB] }])]);
  const denyWeb = policy("shop/deny-web", "DENY", [rule([{ identities: [WEB] }])]);
  const auditAll = policy("shop/audit-all", "AUDIT", [rule()]);
  runCases([
    { name: "a matching DENY refuses even when an ALLOW matches", authorization: authz([allowWeb, denyWeb]), request: req(WEB), expect: { allowed: false, kind: "deny-policy", policy: "shop/deny-web" } },
    { name: "a DENY that does not match leaves the ALLOW to decide", authorization: authz([allowWeb, denyWeb]), request: req(CHECKOUT), expect: { allowed: false, kind: "no-allow-match", policy: "shop/allow-web" } },
    { name: "the first matching DENY in snapshot order is named", authorization: authz([policy("shop/deny-a", "DENY", [rule()]), policy("shop/deny-b", "DENY", [rule()])]), request: req(WEB), expect: { policy: "shop/deny-a" } },
    { name: "the first matching ALLOW in snapshot order is named", authorization: authz([policy("shop/allow-a", "ALLOW", [rule([{ namespaces: ["shop"] }])]), allowWeb]), request: req(WEB), expect: { policy: "shop/allow-a" } },
    { name: "an ALLOW in scope replaces the default, even a permissive one", authorization: authz([allowWeb], "DEFAULT_ALL_UNAUTHENTICATED"), request: req(null), expect: { allowed: false, kind: "no-allow-match" } },
    { name: "an ALLOW in scope replaces the default, even a denying one", authorization: authz([allowWeb], "DEFAULT_DENY"), request: req(WEB), expect: { allowed: true, kind: "allow-policy" } },
    { name: "an ALLOW with no rules allows nothing", authorization: authz([policy("shop/nothing", "ALLOW", [])], "DEFAULT_ALL_UNAUTHENTICATED"), request: req(WEB), expect: { allowed: false, kind: "no-allow-match", policy: "shop/nothing" } },
    { name: "a DENY with no rules denies nothing", authorization: authz([policy("shop/nothing", "DENY", [])]), request: req(WEB), expect: { allowed: true, kind: "default" } },
    { name: "a matching AUDIT never refuses and is listed", authorization: authz([auditAll], "DEFAULT_DENY"), request: req(WEB), expect: { allowed: false, kind: "default", audited: ["shop/audit-all"] } },
    { name: "an AUDIT alone leaves the default to decide", authorization: authz([auditAll]), request: req(WEB), expect: { allowed: true, kind: "default", audited: ["shop/audit-all"] } },
    { name: "AUDIT matches are listed alongside a DENY refusal", authorization: authz([denyWeb, auditAll]), request: req(WEB), expect: { kind: "deny-policy", audited: ["shop/audit-all"] } },
    {
      name: "every matching AUDIT is listed, in snapshot order",
      authorization: authz([policy("shop/audit-b", "AUDIT", [rule([{ namespaces: ["shop"] }])]), policy("shop/audit-a", "AUDIT", [rule([{ identities: [WEB] }])]), policy("shop/audit-c", "AUDIT", [rule([{ namespaces: ["ops"] }])])]),
      request: req(WEB),
      expect: { audited: ["shop/audit-b", "shop/audit-a"] },
    },
    { name: "a policy scoped to another port is ignored entirely", authorization: authz([policy("shop/allow-9090", "ALLOW", [rule([{ identities: [CHECKOUT] }])], [9090])]), request: req(WEB), expect: { allowed: true, kind: "default" } },
    { name: "a policy scoped to the request's port applies", authorization: authz([policy("shop/allow-8080", "ALLOW", [rule([{ identities: [CHECKOUT] }])], [8080, 9090])]), request: req(WEB), expect: { allowed: false, kind: "no-allow-match", policy: "shop/allow-8080" } },
    { name: "a DENY scoped to another port does not refuse", authorization: authz([policy("shop/deny-9090", "DENY", [rule()], [9090])]), request: req(WEB), expect: { allowed: true, kind: "default" } },
    { name: "an AUDIT scoped to another port is not listed", authorization: authz([policy("shop/audit-9090", "AUDIT", [rule()], [9090])]), request: req(WEB), expect: { audited: [] } },
  ]);
});

describe("authorization: the default policy", () => {
  const none: AuthorizationPolicy__Output[] = [];
  runCases([
    { name: "all-authenticated admits a mesh caller", authorization: authz(none, "DEFAULT_ALL_AUTHENTICATED"), request: req(FOREIGN), expect: { allowed: true, kind: "default", policy: "default:all-authenticated" } },
    { name: "all-authenticated refuses a plaintext caller", authorization: authz(none, "DEFAULT_ALL_AUTHENTICATED"), request: req(null), expect: { allowed: false, kind: "default", policy: "default:all-authenticated", dryRunRefusal: null } },
    { name: "unspecified reads as all-authenticated", authorization: authz(none, "DEFAULT_INBOUND_POLICY_UNSPECIFIED"), request: req(null), expect: { allowed: false, policy: "default:all-authenticated" } },
    { name: "cluster-authenticated admits a caller of the trust domain", authorization: authz(none, "DEFAULT_CLUSTER_AUTHENTICATED"), request: req(WEB), expect: { allowed: true, policy: "default:cluster-authenticated" } },
    { name: "cluster-authenticated refuses a caller of another trust domain", authorization: authz(none, "DEFAULT_CLUSTER_AUTHENTICATED"), request: req(FOREIGN), expect: { allowed: false, policy: "default:cluster-authenticated" } },
    { name: "cluster-authenticated refuses a trust domain that only shares the prefix", authorization: authz(none, "DEFAULT_CLUSTER_AUTHENTICATED"), request: req(id("shop", "web", "cluster.local.evil")), expect: { allowed: false } },
    { name: "cluster-authenticated refuses a plaintext caller", authorization: authz(none, "DEFAULT_CLUSTER_AUTHENTICATED"), request: req(null), expect: { allowed: false } },
    { name: "all-unauthenticated admits a plaintext caller", authorization: authz(none, "DEFAULT_ALL_UNAUTHENTICATED"), request: req(null), expect: { allowed: true, policy: "default:all-unauthenticated" } },
    { name: "deny refuses a mesh caller", authorization: authz(none, "DEFAULT_DENY"), request: req(WEB), expect: { allowed: false, policy: "default:deny" } },
    { name: "dry-run deny admits and names the refusal", authorization: authz(none, "DEFAULT_DENY", true), request: req(WEB), expect: { allowed: true, kind: "default", policy: "default:deny", dryRunRefusal: "default:deny" } },
    { name: "dry-run all-authenticated admits a plaintext caller and names the refusal", authorization: authz(none, "DEFAULT_ALL_AUTHENTICATED", true), request: req(null), expect: { allowed: true, dryRunRefusal: "default:all-authenticated" } },
    { name: "dry-run names no refusal when the default admits", authorization: authz(none, "DEFAULT_ALL_AUTHENTICATED", true), request: req(WEB), expect: { allowed: true, dryRunRefusal: null } },
    { name: "dry-run cluster-authenticated names the refusal of a foreign caller", authorization: authz(none, "DEFAULT_CLUSTER_AUTHENTICATED", true), request: req(FOREIGN), expect: { allowed: true, dryRunRefusal: "default:cluster-authenticated" } },
    { name: "dry-run does not soften a no-allow-match", authorization: authz([policy("shop/allow", "ALLOW", [])], "DEFAULT_DENY", true), request: req(WEB), expect: { allowed: false, kind: "no-allow-match", dryRunRefusal: null } },
  ]);
});

describe("authorization: compile refusals", () => {
  const refusals: { name: string; authorization: Authorization__Output; code: string; message: RegExp }[] = [
    { name: "an unspecified action", authorization: authz([policy("shop/p", "AUTHORIZATION_ACTION_UNSPECIFIED", [rule()])]), code: "bad-action", message: /policy "shop\/p": action AUTHORIZATION_ACTION_UNSPECIFIED/ },
    { name: "a policy without a name", authorization: authz([policy("", "ALLOW", [rule()])]), code: "bad-policy-name", message: /policies\[0\] has no name/ },
    { name: "a policy port outside 1-65535", authorization: authz([policy("shop/p", "ALLOW", [rule()], [0])]), code: "bad-port", message: /policy "shop\/p" ports: 0 is not a port/ },
    { name: "an operation port outside 1-65535", authorization: authz([policy("shop/p", "ALLOW", [rule([], [{ notPorts: [70000] }])])]), code: "bad-port", message: /rules\[0\]\.to\[0\]\.notPorts: 70000/ },
    { name: "a PathMatch with neither exact nor prefix", authorization: authz([policy("shop/p", "ALLOW", [rule([], [{ paths: [{}] }])])]), code: "bad-path", message: /rules\[0\]\.to\[0\]\.paths\[0\]: neither exact nor prefix/ },
    { name: "a path that does not start with /", authorization: authz([policy("shop/p", "DENY", [rule([], [{ notPaths: [{ prefix: "admin" }] }])])]), code: "bad-path", message: /notPaths\[0\]: prefix "admin"/ },
    { name: "an empty gRPC service", authorization: authz([policy("shop/p", "ALLOW", [rule([], [{ grpc: [{ service: "", method: "Charge" }] }])])]), code: "bad-grpc", message: /grpc\[0\]: service ""/ },
    { name: "a gRPC method holding a slash", authorization: authz([policy("shop/p", "ALLOW", [rule([], [{ grpc: [{ service: "a.B", method: "C/D" }] }])])]), code: "bad-grpc", message: /method "C\/D"/ },
    { name: "an identity that is not a spiffe:// id", authorization: authz([policy("shop/p", "ALLOW", [rule([{ identities: ["checkout"] }])])]), code: "bad-identity", message: /rules\[0\]\.from\[0\]\.identities: "checkout" is not a spiffe:\/\/ id/ },
    { name: "a * inside an identity segment", authorization: authz([policy("shop/p", "DENY", [rule([{ notIdentities: [id("shop", "web-*")] }])])]), code: "bad-identity", message: /notIdentities.*whole path segment/ },
    { name: "unauthenticated combined with identity fields", authorization: authz([policy("shop/p", "ALLOW", [rule([{ unauthenticated: true, namespaces: ["shop"] }])])]), code: "bad-source", message: /from\[0\]: unauthenticated cannot be combined with namespaces/ },
    { name: "a ServiceAccount without its namespace", authorization: authz([policy("shop/p", "ALLOW", [rule([{ serviceAccounts: ["checkout"] }])])]), code: "bad-service-account", message: /serviceAccounts: "checkout" is not "<namespace>\/<serviceaccount>"/ },
    { name: "a namespace that is not a name", authorization: authz([policy("shop/p", "ALLOW", [rule([{ notNamespaces: ["Shop"] }])])]), code: "bad-namespace", message: /notNamespaces: "Shop"/ },
    { name: "a host with a * that is not a leading label", authorization: authz([policy("shop/p", "ALLOW", [rule([], [{ hosts: ["shop.*"] }])])]), code: "bad-host", message: /hosts: "shop\.\*"/ },
    { name: "a host with a port", authorization: authz([policy("shop/p", "ALLOW", [rule([], [{ notHosts: ["shop:8080"] }])])]), code: "bad-host", message: /notHosts: "shop:8080"/ },
    { name: "an empty method", authorization: authz([policy("shop/p", "ALLOW", [rule([], [{ methods: [""] }])])]), code: "bad-method", message: /methods: "" is not an HTTP method/ },
    { name: "cluster-authenticated without a trust domain", authorization: { ...authz([], "DEFAULT_CLUSTER_AUTHENTICATED"), trustDomain: "" }, code: "bad-default", message: /trust domain/ },
    { name: "an unknown default", authorization: authz([], "DEFAULT_SOMETHING" as DefaultInboundPolicy__Output), code: "bad-default", message: /DEFAULT_SOMETHING/ },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name}, naming the policy and field`, () => {
      const result = compileAuthorization(r.authorization);
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.code, r.code);
      assert.match(result.message, r.message);
    });
  }

  it("compiles a policy set that uses every field", () => {
    const all = authz([
      policy("shop/every", "ALLOW", [
        rule(
          [{ identities: [WEB, id("shop", "*"), "*"], notIdentities: [CHECKOUT], namespaces: ["shop"], notNamespaces: ["ops"], serviceAccounts: ["shop/web"], notServiceAccounts: ["shop/db"] }, { unauthenticated: true }],
          [{ ports: [8080], notPorts: [9090], methods: ["GET"], notMethods: ["DELETE"], paths: [{ exact: "/a" }, { prefix: "/b/" }], notPaths: [{ prefix: "/b/admin" }], hosts: ["shop.example.com", "*.example.com", "[::1]"], notHosts: ["x.example.com"], grpc: [{ service: "a.B", method: "" }] }],
        ),
      ], [8080]),
    ]);
    assert.equal(compileAuthorization(all).ok, true);
  });
});

describe("authorization: which ports accept plaintext callers", () => {
  const cases: { name: string; authorization: Authorization__Output; port: number; expect: boolean }[] = [
    { name: "all-unauthenticated with no ALLOW accepts plaintext", authorization: authz([], "DEFAULT_ALL_UNAUTHENTICATED"), port: 8080, expect: true },
    { name: "all-authenticated with no ALLOW does not", authorization: authz([], "DEFAULT_ALL_AUTHENTICATED"), port: 8080, expect: false },
    { name: "a dry-run default accepts plaintext", authorization: authz([], "DEFAULT_DENY", true), port: 8080, expect: true },
    { name: "an ALLOW covering the port that names no unauthenticated caller does not, even under all-unauthenticated", authorization: authz([policy("shop/a", "ALLOW", [rule([{ namespaces: ["shop"] }])])], "DEFAULT_ALL_UNAUTHENTICATED"), port: 8080, expect: false },
    { name: "an ALLOW rule with an unauthenticated entry accepts plaintext", authorization: authz([policy("shop/a", "ALLOW", [rule([{ namespaces: ["shop"] }, { unauthenticated: true }])])]), port: 8080, expect: true },
    { name: "an ALLOW rule with no from accepts plaintext", authorization: authz([policy("shop/a", "ALLOW", [rule([], [{ paths: [{ exact: "/healthz" }] }])])]), port: 8080, expect: true },
    { name: "an ALLOW on another port leaves this port to the default", authorization: authz([policy("shop/a", "ALLOW", [rule([{ namespaces: ["shop"] }])], [9090])], "DEFAULT_ALL_UNAUTHENTICATED"), port: 8080, expect: true },
    { name: "an ALLOW on this port decides it", authorization: authz([policy("shop/a", "ALLOW", [rule([{ namespaces: ["shop"] }])], [9090])], "DEFAULT_ALL_UNAUTHENTICATED"), port: 9090, expect: false },
    { name: "a DENY or AUDIT does not change it", authorization: authz([policy("shop/d", "DENY", [rule([{ unauthenticated: true }])]), policy("shop/u", "AUDIT", [rule()])]), port: 8080, expect: false },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(acceptsPlaintext(compiled(c.authorization), c.port), c.expect));
  }
});

describe("authorization: per-caller plans and shared decisions", () => {
  it("decides the same for a caller's first and later requests, past the plan cache's bound", () => {
    const a = authz([policy("shop/allow", "ALLOW", [rule([{ namespaces: ["shop"] }], [{ methods: ["GET"] }])]), policy("shop/deny", "DENY", [rule([{ notNamespaces: ["shop"] }], [{ paths: [{ prefix: "/admin/" }] }])])]);
    const c = compiled(a);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5000; i++) {
        const r = req(id(i % 2 === 0 ? "shop" : "ops", `sa-${i}`), http(i % 3 === 0 ? "POST" : "GET", i % 5 === 0 ? "/admin/x" : "/"));
        assert.deepEqual({ ...evaluate(c, r), audited: [] }, naiveEvaluate(a, r));
      }
    }
  });

  it("shares the decision that lists a single AUDIT policy", () => {
    const c = compiled(authz([policy("shop/audit", "AUDIT", [rule([], [{ methods: ["GET"] }])])]));
    const a = evaluate(c, req(WEB));
    assert.deepEqual(a.audited, ["shop/audit"]);
    assert.equal(evaluate(c, req(WEB)), a);
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a.audited));
  });

  it("returns the same frozen decision, with a shared empty audit list, when nothing is audited", () => {
    const c = compiled(authz([policy("shop/allow", "ALLOW", [rule([{ namespaces: ["shop"] }])])]));
    const a = evaluate(c, req(WEB));
    const b = evaluate(c, req(WEB));
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a));
    assert.ok(Object.isFrozen(a.audited));
  });
});

// ------------------------------------------------------ against the reference

describe("authorization: the indexed evaluator against the naive reference", () => {
  // A small vocabulary, so random policies and requests meet often.
  const namespaces = ["shop", "pay", "ops"];
  const accounts = ["web", "api", "db"];
  const domains = [TD, "other.org"];
  const ports = [80, 8080, 9090];
  const methods = ["GET", "POST", "DELETE"];
  const paths = ["/", "/api/", "/api/v1", "/charge", "/weft.demo.v1.Payments/Charge", "/weft.demo.v1.Payments/Refund", "/x.Y/Z", "/x.Y/Z/W"];
  const hosts = ["shop.example.com", "api.example.com", "example.com", "other.net"];
  const services = ["weft.demo.v1.Payments", "x.Y"];
  const peers = [null, ...domains.flatMap((td) => namespaces.flatMap((ns) => accounts.map((sa) => id(ns, sa, td)))), id("Shop", "web"), id("shop", "web") + "/x", "spiffe://cluster.local", "spiffe://cluster.local/ns/shop/sa/"];

  function check(seed: number, sets: number, requestsPerSet: number): void {
    const rand = seededRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const some = <T>(xs: readonly T[], p = 0.3): T[] => (rand() < p ? [...new Set(Array.from({ length: 1 + Math.floor(rand() * 2) }, () => pick(xs)))] : []);
    const identity = () =>
      pick([
        () => "*",
        () => id(pick(namespaces), pick(accounts), pick(domains)),
        () => id(pick(namespaces), "*", pick(domains)),
        () => id("*", pick(accounts)),
        () => `spiffe://*/ns/${pick(namespaces)}/sa/${pick(accounts)}`,
        () => "spiffe://*/ns/*/sa/*",
        () => `spiffe://${TD}/*`,
      ])();
    const sourceEntry = (): Partial<AuthorizationSource__Output> =>
      rand() < 0.15
        ? { unauthenticated: true }
        : {
            identities: rand() < 0.4 ? Array.from({ length: 1 + Math.floor(rand() * 2) }, identity) : [],
            notIdentities: rand() < 0.1 ? [identity()] : [],
            namespaces: some(namespaces, 0.25),
            notNamespaces: some(namespaces, 0.1),
            serviceAccounts: some(namespaces.flatMap((ns) => accounts.map((sa) => `${ns}/${sa}`)), 0.2),
            notServiceAccounts: some(namespaces.flatMap((ns) => accounts.map((sa) => `${ns}/${sa}`)), 0.1),
          };
    const pathMatch = () => (rand() < 0.5 ? { exact: pick(paths) } : { prefix: pick(paths) });
    const operationEntry = (): Partial<AuthorizationOperation__Output> => ({
      ports: some(ports, 0.2),
      notPorts: some(ports, 0.1),
      methods: some(methods, 0.25),
      notMethods: some(methods, 0.1),
      paths: rand() < 0.25 ? [pathMatch()] : [],
      notPaths: rand() < 0.1 ? [pathMatch()] : [],
      hosts: rand() < 0.15 ? [pick([...hosts, "*.example.com"])] : [],
      notHosts: rand() < 0.1 ? [pick([...hosts, "*.example.com"])] : [],
      grpc: rand() < 0.15 ? [{ service: pick(services), method: pick(["", "Charge", "Z"]) }] : [],
    });
    const randomRule = () =>
      rule(
        Array.from({ length: Math.floor(rand() * 3) }, sourceEntry),
        Array.from({ length: Math.floor(rand() * 3) }, operationEntry),
      );
    // What the sets produced, so a generator that stopped reaching some outcome fails loudly.
    const seen = new Map<string, number>();
    const count = (key: string) => seen.set(key, (seen.get(key) ?? 0) + 1);
    const defaults: DefaultInboundPolicy__Output[] = ["DEFAULT_INBOUND_POLICY_UNSPECIFIED", "DEFAULT_ALL_AUTHENTICATED", "DEFAULT_CLUSTER_AUTHENTICATED", "DEFAULT_ALL_UNAUTHENTICATED", "DEFAULT_DENY"];
    for (let s = 0; s < sets; s++) {
      const policies = Array.from({ length: Math.floor(rand() * 8) }, (_, i) =>
        policy(`ns/p${i}`, pick(["ALLOW", "DENY", "AUDIT"] as const), Array.from({ length: Math.floor(rand() * 4) }, randomRule), some(ports, 0.3)),
      );
      const authorization = authz(policies, pick(defaults), rand() < 0.2);
      const result = compileAuthorization(authorization);
      assert.ok(result.ok, result.ok ? "" : result.message);
      for (let r = 0; r < requestsPerSet; r++) {
        const request: AuthzRequest = rand() < 0.2 ? tcp(pick(peers), pick(ports)) : req(pick(peers), http(pick(methods), pick(paths), pick(hosts), rand() < 0.4), pick(ports));
        const fast = evaluate(result.value, request);
        const naive = naiveEvaluate(authorization, request);
        assert.deepEqual({ ...fast, audited: [...fast.audited] }, naive, `seed ${seed} set ${s} request ${JSON.stringify(request)}\n${JSON.stringify(authorization)}`);
        count(`${fast.kind}:${fast.allowed}`);
        if (fast.audited.length > 0) count("audited");
        if (fast.dryRunRefusal !== null) count("dry-run");
      }
    }
    for (const outcome of ["deny-policy:false", "allow-policy:true", "no-allow-match:false", "default:true", "default:false", "audited", "dry-run"]) {
      assert.ok((seen.get(outcome) ?? 0) >= 100, `only ${seen.get(outcome) ?? 0} decisions of ${outcome}: ${JSON.stringify([...seen])}`);
    }
  }

  for (const seed of [1, 2, 3, 4]) {
    it(`decides as the reference on 1,000 random policy sets x 40 requests (seed ${seed})`, () => check(seed, 1000, 40));
  }
});
