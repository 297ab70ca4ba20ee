// Which AuthorizationPolicies select a workload, and what its proxy is sent:
// one table of (policies, workload) -> selected policy names and ports.
import assert from "node:assert/strict";
import { MESH_DEFAULT_POLICY } from "../../lib/authz/default-policy.ts";
import type { AuthzPolicySpec, AuthzTarget, LabelSelector } from "../../lib/authz/spec.ts";
import { authorizationForWorkload, selectorMatches, type WorkloadFacts } from "../../lib/authz/workload.ts";

const policy = (name: string, target: AuthzTarget, namespace = "shop"): AuthzPolicySpec => ({
  namespace,
  name,
  target,
  action: "ALLOW",
  rules: [{ from: [{ namespaces: ["web"] }], to: [] }],
});

const sel = (matchLabels: Record<string, string>, matchExpressions: LabelSelector["matchExpressions"] = []): AuthzTarget => ({
  kind: "selector",
  selector: { matchLabels, matchExpressions },
});

const workload = (labels: Record<string, string> = {}, servicePorts: Record<string, [number, number][]> = {}): WorkloadFacts => ({
  namespace: "shop",
  name: "api-7d9f-x2x",
  labels,
  servicePorts: new Map(Object.entries(servicePorts).map(([svc, pairs]) => [svc, new Map(pairs)])),
});

interface Case {
  name: string;
  policies: AuthzPolicySpec[];
  workload: WorkloadFacts;
  /** "<namespace>/<name>" -> covered ports, in the order sent. */
  want: [string, number[]][];
}

const CASES: Case[] = [
  { name: "no policies: nothing", policies: [], workload: workload(), want: [] },
  { name: "a namespace-wide policy selects every workload there, every port", policies: [policy("all", { kind: "namespace" })], workload: workload(), want: [["shop/all", []]] },
  { name: "another namespace's policy never selects", policies: [policy("all", { kind: "namespace" }, "other")], workload: workload(), want: [] },
  { name: "matchLabels: every pair must hold", policies: [policy("a", sel({ app: "api" })), policy("b", sel({ app: "api", tier: "gold" }))], workload: workload({ app: "api", tier: "silver" }), want: [["shop/a", []]] },
  { name: "an empty selector selects every workload", policies: [policy("e", sel({}))], workload: workload(), want: [["shop/e", []]] },
  { name: "In: the label must be present with a listed value", policies: [policy("in", sel({}, [{ key: "tier", operator: "In", values: ["gold", "silver"] }])), policy("in-absent", sel({}, [{ key: "zone", operator: "In", values: ["a"] }]))], workload: workload({ tier: "silver" }), want: [["shop/in", []]] },
  { name: "NotIn: matches a pod without the label, and one with another value", policies: [policy("n1", sel({}, [{ key: "zone", operator: "NotIn", values: ["a"] }])), policy("n2", sel({}, [{ key: "tier", operator: "NotIn", values: ["gold"] }])), policy("n3", sel({}, [{ key: "tier", operator: "NotIn", values: ["silver"] }]))], workload: workload({ tier: "silver" }), want: [["shop/n1", []], ["shop/n2", []]] },
  { name: "Exists and DoesNotExist look at the key only (an empty value exists)", policies: [policy("ex", sel({}, [{ key: "canary", operator: "Exists", values: [] }])), policy("dne", sel({}, [{ key: "canary", operator: "DoesNotExist", values: [] }]))], workload: workload({ canary: "" }), want: [["shop/ex", []]] },
  { name: "matchLabels and matchExpressions are ANDed", policies: [policy("and", sel({ app: "api" }, [{ key: "tier", operator: "In", values: ["gold"] }]))], workload: workload({ app: "api", tier: "silver" }), want: [] },
  { name: "a Service target covers the pod ports its Service ports reach", policies: [policy("svc", { kind: "services", services: [{ name: "api" }] })], workload: workload({}, { api: [[80, 8080], [443, 8443]] }), want: [["shop/svc", [8080, 8443]]] },
  { name: "with `port`, only the pod port that Service port reaches", policies: [policy("svc", { kind: "services", services: [{ name: "api", port: 443 }] })], workload: workload({}, { api: [[80, 8080], [443, 8443]] }), want: [["shop/svc", [8443]]] },
  { name: "a Service that does not reach the pod: the policy does not apply", policies: [policy("svc", { kind: "services", services: [{ name: "billing" }] })], workload: workload({}, { api: [[80, 8080]] }), want: [] },
  { name: "a `port` the Service does not have: the policy does not apply (never read as every port)", policies: [policy("svc", { kind: "services", services: [{ name: "api", port: 9999 }] })], workload: workload({}, { api: [[80, 8080]] }), want: [] },
  { name: "several Services: the union of their pod ports, sorted and once each", policies: [policy("svc", { kind: "services", services: [{ name: "api" }, { name: "admin" }] })], workload: workload({}, { api: [[80, 9000]], admin: [[90, 9000], [91, 7000]] }), want: [["shop/svc", [7000, 9000]]] },
  { name: "sorted by name whatever the input order", policies: [policy("zeta", { kind: "namespace" }), policy("alpha", sel({})), policy("mid", { kind: "namespace" })], workload: workload(), want: [["shop/alpha", []], ["shop/mid", []], ["shop/zeta", []]] },
];

describe("authz: the policies that select one workload", () => {
  for (const c of CASES) {
    it(c.name, () => {
      const got = authorizationForWorkload(c.policies, c.workload, MESH_DEFAULT_POLICY, "cluster.local");
      assert.deepEqual((got.policies ?? []).map((p) => [p.name, p.ports]), c.want);
    });
  }

  it("carries the default, its dry-run flag, the trust domain, and each policy's action and rules", () => {
    const deny: AuthzPolicySpec = { ...policy("block", { kind: "namespace" }), action: "DENY" };
    const got = authorizationForWorkload([deny], workload(), { name: "cluster-authenticated", dryRun: true }, "example.org");
    assert.equal(got.defaultPolicy, "DEFAULT_CLUSTER_AUTHENTICATED");
    assert.equal(got.defaultDryRun, true);
    assert.equal(got.trustDomain, "example.org");
    assert.equal(got.policies?.[0]?.action, "DENY");
    assert.deepEqual(got.policies?.[0]?.rules, deny.rules);
    for (const [name, wire] of [["all-authenticated", "DEFAULT_ALL_AUTHENTICATED"], ["all-unauthenticated", "DEFAULT_ALL_UNAUTHENTICATED"], ["deny", "DEFAULT_DENY"]] as const) {
      assert.equal(authorizationForWorkload([], workload(), { name, dryRun: false }, "td").defaultPolicy, wire);
    }
  });

  it("gives equal results for equal inputs in any order (proxies of one Deployment share one snapshot)", () => {
    const policies = [policy("b", sel({ app: "api" })), policy("a", { kind: "namespace" }), policy("c", { kind: "services", services: [{ name: "api" }] })];
    const facts = workload({ app: "api" }, { api: [[80, 8080]] });
    const one = authorizationForWorkload(policies, facts, MESH_DEFAULT_POLICY, "td");
    const two = authorizationForWorkload([...policies].reverse(), { ...facts, name: "api-7d9f-other" }, MESH_DEFAULT_POLICY, "td");
    assert.equal(JSON.stringify(one), JSON.stringify(two));
  });

  it("selectorMatches: a label named like an Object prototype key is not present unless set", () => {
    assert.equal(selectorMatches({ matchLabels: {}, matchExpressions: [{ key: "constructor", operator: "Exists", values: [] }] }, {}), false);
    assert.equal(selectorMatches({ matchLabels: {}, matchExpressions: [{ key: "toString", operator: "DoesNotExist", values: [] }] }, {}), true);
  });
});
