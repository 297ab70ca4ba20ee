import assert from "node:assert/strict";
import { completeAuthorization } from "../../lib/authz/authorization-shape.ts";
import { compileAuthorization } from "../../lib/authz/evaluate.ts";
import { readAuthorizationPolicy } from "../../lib/authz/policy-read.ts";
import { ACCEPTED, policyObject } from "./authz-policy-cases.ts";

const policy = (action: string, to: object) => ({
  apiVersion: "policy.weft.io/v1alpha1", kind: "AuthorizationPolicy", metadata: { name: "p", namespace: "ns" },
  spec: { action, targetRefs: [{ kind: "Service", name: "api" }], rules: [{ to: [to] }] },
});

describe("reading AuthorizationPolicies as the control plane and weft authz do", () => {
  it("every policy the parser accepts also compiles in the proxy", () => {
    for (const c of ACCEPTED) {
      const read = readAuthorizationPolicy(policyObject("p", "shop", c.spec));
      assert.equal(read.problem, null, c.name);
      const p = read.policy!;
      const compiled = compileAuthorization(completeAuthorization({ defaultPolicy: "DEFAULT_ALL_AUTHENTICATED", trustDomain: "cluster.local", policies: [{ name: `${p.namespace}/${p.name}`, action: p.action, ports: [], rules: p.rules }] }));
      assert.ok(compiled.ok, `${c.name}: ${compiled.ok ? "" : compiled.message}`);
    }
  });

  it("a DENY the parser passes but the proxy would refuse becomes deny-everything on its target, not a snapshot every proxy NACKs", () => {
    const read = readAuthorizationPolicy(policy("DENY", { paths: [{ exact: "/a?b" }] }));
    assert.match(read.problem?.message ?? "", /enforced as deny-everything on its target until fixed: .*query string/);
    assert.deepEqual(read.policy?.target, { kind: "services", services: [{ name: "api" }] });
    assert.deepEqual(read.policy?.rules, [{ from: [], to: [] }]);
  });

  it("an ALLOW the proxy would refuse becomes allow-nothing: its port stays covered, and nobody passes by it", () => {
    const read = readAuthorizationPolicy(policy("ALLOW", { paths: [{ prefix: "/a?" }] }));
    assert.match(read.problem?.message ?? "", /enforced as allow-nothing/);
    assert.equal(read.policy?.action, "ALLOW");
    assert.deepEqual(read.policy?.rules, []);
  });
});
