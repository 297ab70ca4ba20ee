import assert from "node:assert/strict";
import { parseAuthorizationPolicy } from "../../lib/authz/spec-parse.ts";
import type { AuthzPolicySpec } from "../../lib/authz/spec.ts";
import {
  DEFAULT_POLICY_NAMES,
  defaultPolicyToWire,
  formatDefaultPolicy,
  legacyInboundModeDefault,
  MESH_DEFAULT_POLICY,
  parseDefaultPolicy,
} from "../../lib/authz/default-policy.ts";
import { ACCEPTED, policyObject, REFUSED, type Json } from "./authz-policy-cases.ts";

const parse = (spec: Json): AuthzPolicySpec => {
  const r = parseAuthorizationPolicy(policyObject("p", "shop", spec));
  assert.ok(r.ok, r.ok ? "" : r.message);
  return r.value;
};
const refusal = (object: unknown): string => {
  const r = parseAuthorizationPolicy(object);
  assert.ok(!r.ok, "expected a refusal");
  assert.equal(r.code, "invalid-authorization-policy");
  return r.message;
};

describe("authz: an AuthorizationPolicy resource into the mesh model", () => {
  describe("accepts", () => {
    for (const c of ACCEPTED) {
      it(c.name, () => {
        const policy = parse(c.spec);
        assert.equal(policy.namespace, "shop");
        assert.equal(policy.name, "p");
      });
    }
  });

  it("reads the documented example into the wire's rule shape", () => {
    assert.deepEqual(parse(ACCEPTED[0]?.spec ?? {}), {
      namespace: "shop",
      name: "p",
      target: { kind: "services", services: [{ name: "payments", port: 8080 }] },
      action: "ALLOW",
      rules: [{ from: [{ serviceAccounts: ["checkout/checkout"] }], to: [{ methods: ["POST"], paths: [{ exact: "/charge" }] }] }],
    });
  });

  it("targets: Services (port optional), a selector, or the whole namespace", () => {
    assert.deepEqual(parse({ targetRefs: [{ group: "", kind: "Service", name: "web" }, { kind: "Service", name: "api", port: 443 }] }).target, {
      kind: "services",
      services: [{ name: "web" }, { name: "api", port: 443 }],
    });
    assert.deepEqual(parse({ selector: { matchLabels: { app: "web" }, matchExpressions: [{ key: "t", operator: "Exists" }] } }).target, {
      kind: "selector",
      selector: { matchLabels: { app: "web" }, matchExpressions: [{ key: "t", operator: "Exists", values: [] }] },
    });
    assert.deepEqual(parse({ selector: {} }).target, { kind: "selector", selector: { matchLabels: {}, matchExpressions: [] } });
    assert.deepEqual(parse({}).target, { kind: "namespace" });
  });

  it("defaults the action to ALLOW and keeps DENY and AUDIT", () => {
    assert.equal(parse({}).action, "ALLOW");
    assert.equal(parse({ action: "DENY" }).action, "DENY");
    assert.equal(parse({ action: "AUDIT" }).action, "AUDIT");
  });

  it("converts every source and operation field, leaving unset fields out", () => {
    const rules = parse(ACCEPTED[3]?.spec ?? {}).rules;
    assert.deepEqual(rules, [
      {
        from: [
          {
            identities: ["spiffe://cluster.local/ns/shop/sa/*", "*", "spiffe://example.org/workloads/batch-1.v2"],
            notIdentities: ["spiffe://cluster.local/ns/shop/sa/legacy"],
            namespaces: ["shop", "billing"],
            notNamespaces: ["kube-system"],
            serviceAccounts: ["shop/web", "billing/worker.v1"],
            notServiceAccounts: ["shop/debug"],
          },
          { unauthenticated: true },
          {},
        ],
        to: [
          {
            ports: [8080, 1, 65535],
            notPorts: [9090],
            methods: ["GET", "POST", "M-SEARCH"],
            notMethods: ["DELETE"],
            paths: [{ exact: "/charge" }, { prefix: "/api/" }],
            notPaths: [{ prefix: "/admin" }],
            hosts: ["payments.shop.svc", "*.example.com", "10.0.0.1"],
            notHosts: ["internal.example.com"],
            grpc: [{ service: "weft.demo.v1.Payments", method: "Charge" }, { service: "grpc.health.v1.Health" }],
          },
        ],
      },
    ]);
    // `unauthenticated: false` is the same as leaving it out.
    assert.deepEqual(parse({ rules: [{ from: [{ unauthenticated: false, identities: ["*"] }] }] }).rules, [{ from: [{ identities: ["*"] }] }]);
    assert.deepEqual(parse({ rules: [{}] }).rules, [{}]);
    assert.deepEqual(parse({ rules: [] }).rules, []);
  });

  it("reads null fields as absent, as the apiserver prunes them", () => {
    assert.deepEqual(parse({ targetRefs: null, selector: { matchLabels: { a: "b" } }, action: null, rules: [{ from: null, to: [{ ports: [80], grpc: null }] }] }), {
      namespace: "shop",
      name: "p",
      target: { kind: "selector", selector: { matchLabels: { a: "b" }, matchExpressions: [] } },
      action: "ALLOW",
      rules: [{ to: [{ ports: [80] }] }],
    });
  });

  describe("refuses, naming the field", () => {
    for (const c of REFUSED) {
      it(`${c.name}: ${c.path}: ${c.message}`, () => {
        assert.equal(refusal(policyObject("p", "shop", c.spec)), `${c.path}: ${c.message}`);
      });
    }
  });

  it("refuses what is not an AuthorizationPolicy at all", () => {
    assert.equal(refusal("spec: {}"), "an AuthorizationPolicy must be an object");
    assert.equal(refusal(null), "an AuthorizationPolicy must be an object");
    assert.equal(refusal([]), "an AuthorizationPolicy must be an object");
    assert.equal(refusal({ ...policyObject("p", "shop", {}), apiVersion: "policy.weft.io/v1" }), "apiVersion: must be policy.weft.io/v1alpha1");
    assert.equal(refusal({ ...policyObject("p", "shop", {}), kind: "NetworkPolicy" }), "kind: must be AuthorizationPolicy");
    assert.equal(refusal({ metadata: { name: "p" }, spec: {} }), "metadata.namespace: required");
    assert.equal(refusal({ metadata: { namespace: "shop" }, spec: {} }), "metadata.name: required");
    assert.equal(refusal({ metadata: { name: "p", namespace: "shop" } }), "spec: required");
    assert.equal(refusal(policyObject("p", "shop", { rules: {} })), "spec.rules: must be a list");
    assert.equal(refusal(policyObject("p", "shop", { rules: ["x"] })), "spec.rules[0]: must be an object");
    assert.equal(refusal(policyObject("p", "shop", { rules: [{ to: [{ methods: [7] }] }] })), "spec.rules[0].to[0].methods[0]: must be a string");
    assert.equal(refusal(policyObject("p", "shop", { rules: [{ to: [{ ports: [80.5] }] }] })), "spec.rules[0].to[0].ports[0]: must be an integer");
    assert.equal(refusal(policyObject("p", "shop", { status: {} })), 'spec: unknown field "status"');
  });

  it("accepts apiVersion and kind left out (the registry file's short form) and ignores other top-level fields", () => {
    const r = parseAuthorizationPolicy({ metadata: { name: "p", namespace: "shop", uid: "1", labels: { a: "b" } }, spec: {}, status: {} });
    assert.ok(r.ok);
  });

  it("reports every problem, not only the first", () => {
    const message = refusal(policyObject("p", "shop", { action: "NO", targetRefs: [{ kind: "Pod", name: "x" }], rules: [{ from: [{ unauthenticated: true, namespaces: ["a"], serviceAccounts: ["b"] }] }] }));
    assert.deepEqual(message.split("; ").sort(), [
      "spec.targetRefs[0].kind: must be Service",
      "spec.action: must be one of ALLOW, DENY, AUDIT",
      "spec.rules[0].from[0]: unauthenticated cannot be combined with namespaces",
      "spec.rules[0].from[0].serviceAccounts[0]: must be <namespace>/<serviceaccount>",
      "spec.rules[0].from[0]: unauthenticated cannot be combined with serviceAccounts",
    ].sort());
  });

  it("counts characters as the apiserver does, not UTF-16 units", () => {
    // 63 two-unit characters: within the bound of 63 characters.
    assert.ok(parseAuthorizationPolicy(policyObject("p", "shop", { selector: { matchLabels: { a: "😀".repeat(63) } } })).ok);
    assert.equal(refusal(policyObject("p", "shop", { selector: { matchLabels: { a: "😀".repeat(64) } } })), "spec.selector.matchLabels.a: must be at most 63 characters");
  });
});

describe("authz: the default inbound policy", () => {
  it("parses each name, plain and as dry-run, and formats it back", () => {
    for (const name of DEFAULT_POLICY_NAMES) {
      for (const text of [name, `dry-run:${name}`]) {
        const r = parseDefaultPolicy(text);
        assert.ok(r.ok, text);
        assert.deepEqual(r.value, { name, dryRun: text.startsWith("dry-run:") });
        assert.equal(formatDefaultPolicy(r.value), text);
      }
    }
  });

  it("refuses anything else, naming the choices", () => {
    for (const text of ["", "strict", "Deny", " deny", "deny ", "dry-run:", "dry-run:dry-run:deny", "dryrun:deny", "allow"]) {
      const r = parseDefaultPolicy(text);
      assert.ok(!r.ok, text);
      assert.equal(r.code, "bad-default-policy");
      assert.equal(r.message, `"${text}" is not a default inbound policy: want one of all-authenticated, cluster-authenticated, all-unauthenticated, deny, each optionally as dry-run:<name>`);
    }
  });

  it("maps to the wire's enum and dry-run flag", () => {
    assert.deepEqual(defaultPolicyToWire({ name: "all-authenticated", dryRun: false }), { defaultPolicy: "DEFAULT_ALL_AUTHENTICATED", defaultDryRun: false });
    assert.deepEqual(defaultPolicyToWire({ name: "cluster-authenticated", dryRun: true }), { defaultPolicy: "DEFAULT_CLUSTER_AUTHENTICATED", defaultDryRun: true });
    assert.deepEqual(defaultPolicyToWire({ name: "all-unauthenticated", dryRun: false }), { defaultPolicy: "DEFAULT_ALL_UNAUTHENTICATED", defaultDryRun: false });
    assert.deepEqual(defaultPolicyToWire({ name: "deny", dryRun: true }), { defaultPolicy: "DEFAULT_DENY", defaultDryRun: true });
  });

  it("reads the old inbound modes: STRICT as all-authenticated (the mesh default), PERMISSIVE as all-unauthenticated", () => {
    assert.deepEqual(legacyInboundModeDefault("STRICT"), MESH_DEFAULT_POLICY);
    assert.deepEqual(legacyInboundModeDefault("PERMISSIVE"), { name: "all-unauthenticated", dryRun: false });
  });
});
