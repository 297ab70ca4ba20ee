// Authorization in the snapshots: each proxy gets its default and only the
// AuthorizationPolicies that select its pod; proxies with the same policy share
// one scope group; a policy change reaches a proxy as a delta, also when the
// proxy moves to another group; a pod the model does not know fails closed.
import assert from "node:assert/strict";
import type { Snapshot__Output } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import type { DefaultPolicy } from "../../lib/authz/default-policy.ts";
import type { AuthzPolicySpec, AuthzTarget } from "../../lib/authz/spec.ts";
import type { MeshModel, PodModel } from "../../control-plane/src/mesh-state.ts";
import { emptyInbound } from "../../control-plane/src/mesh-state.ts";
import { groupNamespace } from "../../control-plane/src/snapshot-authorization.ts";
import { SnapshotVersions } from "../../control-plane/src/snapshot-versions.ts";
import { decodeSnapshot, mesh, meshedEndpoint, namespace, service } from "./discovery-helpers.ts";

const TD = "cluster.local";

const pod = (name: string, labels: Record<string, string>, defaultPolicy: DefaultPolicy | null = null, ns = "shop"): PodModel => ({ namespace: ns, name, labels, defaultPolicy });

const policy = (name: string, target: AuthzTarget, action: AuthzPolicySpec["action"] = "ALLOW", ns = "shop"): AuthzPolicySpec => ({
  namespace: ns,
  name,
  target,
  action,
  rules: [{ from: [{ namespaces: ["web"] }], to: [] }],
});

const PODS = [pod("api-1", { app: "api" }), pod("api-2", { app: "api" }), pod("db-1", { app: "db" })];

/** shop: Service api (port 80 -> pod port 8080) over api-1 and api-2; Service db over db-1. */
function model(policies: AuthzPolicySpec[], pods: PodModel[] = PODS, options: { meshDefault?: DefaultPolicy; nsInbound?: Partial<ReturnType<typeof emptyInbound>> } = {}): MeshModel {
  const api = service("shop", "api", [
    meshedEndpoint("10.0.0.1", "shop", "api", { pod: "shop/api-1", ports: { http: 8080 } }),
    meshedEndpoint("10.0.0.2", "shop", "api", { pod: "shop/api-2", ports: { http: 8080 } }),
  ]);
  const db = service("shop", "db", [meshedEndpoint("10.0.0.3", "shop", "db", { pod: "shop/db-1", ports: { http: 5432 } })]);
  const m = mesh([api, db], [namespace("shop", true, { inbound: { ...emptyInbound(), ...options.nsInbound } })]);
  return {
    ...m,
    authorization: {
      policies,
      meshDefault: options.meshDefault ?? { name: "all-authenticated", dryRun: false },
      trustDomain: TD,
      pods: new Map(pods.map((p) => [`${p.namespace}/${p.name}`, p])),
    },
  };
}

const full = (v: SnapshotVersions, group: string): Snapshot__Output => decodeSnapshot(v.prepare(group, null).encoded);
const policyNames = (s: Snapshot__Output): string[] => (s.policy?.inbound?.authorization?.policies ?? []).map((p) => `${p.name}:${p.ports.join(",")}`);

describe("snapshots: authorization per proxy", () => {
  it("a policy reaches only the proxies whose pods it selects, each target kind on its own ports", () => {
    const v = new SnapshotVersions(model([
      policy("api-only", { kind: "selector", selector: { matchLabels: { app: "api" }, matchExpressions: [] } }),
      policy("db-port", { kind: "services", services: [{ name: "db", port: 80 }] }, "DENY"),
      policy("everyone", { kind: "namespace" }, "AUDIT"),
    ]), { epoch: "e" });
    assert.deepEqual(policyNames(full(v, v.classify("shop", "api-1"))), ["shop/api-only:", "shop/everyone:"]);
    assert.deepEqual(policyNames(full(v, v.classify("shop", "db-1"))), ["shop/db-port:5432", "shop/everyone:"]);
    const auth = full(v, v.classify("shop", "db-1")).policy?.inbound?.authorization;
    assert.equal(auth?.policies[0]?.action, "DENY");
    assert.equal(auth?.trustDomain, TD);
    assert.equal(auth?.defaultPolicy, "DEFAULT_ALL_AUTHENTICATED");
  });

  it("pods with the same policy share one group and one encoded message; a pod with another policy has its own", () => {
    const v = new SnapshotVersions(model([policy("api-only", { kind: "selector", selector: { matchLabels: { app: "api" }, matchExpressions: [] } })]), { epoch: "e" });
    const a1 = v.classify("shop", "api-1");
    const a2 = v.classify("shop", "api-2");
    const db = v.classify("shop", "db-1");
    assert.equal(a1, a2, "two pods of one Deployment");
    assert.notEqual(a1, db);
    assert.equal(groupNamespace(a1), "shop");
    assert.equal(v.prepare(a1, null), v.prepare(a2, null), "one message, prepared once");
    // Without pod-selecting policies every pod of the namespace shares the namespace's group.
    const plain = new SnapshotVersions(model([policy("all", { kind: "namespace" })]), { epoch: "e" });
    assert.equal(plain.classify("shop", "api-1"), plain.classify("shop", "db-1"));
  });

  it("a policy change reaches the proxy as a delta with the new Authorization, from the version it holds in its old group", () => {
    const v = new SnapshotVersions(model([]), { epoch: "e" });
    const before = v.classify("shop", "api-1");
    v.subscribe(before);
    const held = v.prepare(before, null);
    const changed = v.update(model([policy("api-only", { kind: "selector", selector: { matchLabels: { app: "api" }, matchExpressions: [] } })]));
    assert.deepEqual(changed, [], "a class group's own view does not change: its proxies move");
    const after = v.classify("shop", "api-1");
    assert.notEqual(after, before);
    assert.notEqual(v.currentVersion(after), held.version, "the new group's version is never the one the proxy holds");
    const delta = v.prepare(after, held.version);
    assert.equal(delta.full, false);
    assert.equal(delta.baseVersion, held.version);
    const decoded = decodeSnapshot(delta.encoded);
    assert.deepEqual(decoded.services, [], "only the policy changed");
    assert.deepEqual(policyNames(decoded), ["shop/api-only:"]);
    // db-1 is not selected: its class (and so its group and version) stays as it was.
    assert.equal(v.classify("shop", "db-1"), before);
  });

  it("a pod whose labels change moves class and gets a delta; its old group keeps serving the pods still in it", () => {
    const sel = policy("gold", { kind: "selector", selector: { matchLabels: {}, matchExpressions: [{ key: "tier", operator: "In", values: ["gold"] }] } });
    const v = new SnapshotVersions(model([sel]), { epoch: "e" });
    const plain = v.classify("shop", "api-1");
    const held = v.prepare(plain, null);
    v.update(model([sel], [pod("api-1", { app: "api", tier: "gold" }), ...PODS.slice(1)]));
    const gold = v.classify("shop", "api-1");
    assert.notEqual(gold, plain);
    assert.equal(v.classify("shop", "api-2"), plain);
    const delta = v.prepare(gold, held.version);
    assert.equal(delta.full, false);
    assert.deepEqual(policyNames(decodeSnapshot(delta.encoded)), ["shop/gold:"]);
  });

  it("a pod the model does not know yet fails closed: default deny, no policies", () => {
    const v = new SnapshotVersions(model([policy("all", { kind: "namespace" })]), { epoch: "e" });
    const group = v.classify("shop", "api-3");
    const inbound = full(v, group).policy?.inbound;
    assert.equal(inbound?.authorization?.defaultPolicy, "DEFAULT_DENY");
    assert.deepEqual(inbound?.authorization?.policies, []);
    assert.equal(inbound?.mode, "STRICT");
    v.update(model([policy("all", { kind: "namespace" })], [...PODS, pod("api-3", { app: "api" })]));
    const known = v.classify("shop", "api-3");
    assert.notEqual(known, group);
    assert.equal(full(v, known).policy?.inbound?.authorization?.defaultPolicy, "DEFAULT_ALL_AUTHENTICATED");
  });

  it("default precedence: pod annotation, then namespace annotation, then legacy inbound-mode, then mesh-wide; mode follows it", () => {
    const defaultOf = (m: MeshModel, workload: string) => {
      const v = new SnapshotVersions(m, { epoch: "e" });
      const inbound = full(v, v.classify("shop", workload)).policy?.inbound;
      return `${inbound?.authorization?.defaultPolicy}${inbound?.authorization?.defaultDryRun ? " dry-run" : ""} ${inbound?.mode}`;
    };
    const pods = [pod("annotated", {}, { name: "deny", dryRun: true }), pod("plain", {})];
    const mesh = { name: "cluster-authenticated", dryRun: false } as const;
    assert.equal(defaultOf(model([], pods, { meshDefault: mesh }), "plain"), "DEFAULT_CLUSTER_AUTHENTICATED STRICT");
    assert.equal(defaultOf(model([], pods, { meshDefault: mesh, nsInbound: { mode: "PERMISSIVE" } }), "plain"), "DEFAULT_ALL_UNAUTHENTICATED PERMISSIVE", "the legacy mode beats the mesh-wide default");
    assert.equal(defaultOf(model([], pods, { nsInbound: { mode: "PERMISSIVE", defaultPolicy: { name: "deny", dryRun: false } } }), "plain"), "DEFAULT_DENY STRICT", "the new annotation beats the legacy mode");
    assert.equal(defaultOf(model([], pods, { nsInbound: { mode: "PERMISSIVE", defaultPolicy: { name: "all-unauthenticated", dryRun: false } } }), "annotated"), "DEFAULT_DENY dry-run STRICT", "the pod's beats the namespace's");
  });

  it("without pods in the model (local mode), a workload is a pod without labels: namespace-wide and Service targets apply", () => {
    const m = model([
      policy("all", { kind: "namespace" }),
      policy("labelled", { kind: "selector", selector: { matchLabels: { app: "api" }, matchExpressions: [] } }),
      policy("api-svc", { kind: "services", services: [{ name: "api" }] }),
    ]);
    const local: MeshModel = { ...m, authorization: m.authorization ? { ...m.authorization, pods: null } : undefined };
    const v = new SnapshotVersions(local, { epoch: "e" });
    assert.deepEqual(policyNames(full(v, v.classify("shop", "api-1"))), ["shop/all:", "shop/api-svc:8080"]);
    assert.deepEqual(policyNames(full(v, v.classify("shop", "anything"))), ["shop/all:"]);
  });
});
