// `weft check`'s component RBAC: the list of what the control plane and the webhook need
// is exactly what the chart's ClusterRoles grant (so neither can drift), and against a
// real apiserver with the chart's RBAC applied, SubjectAccessReviews for the components'
// ServiceAccounts pass, and name what is missing once a binding is gone.
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { COMPONENT_PERMISSIONS, permissionKey } from "../../cli/src/check-component-permissions.ts";
import { runChecks } from "../../cli/src/check-gather.ts";
import { kubernetesBinariesAvailable, useCluster } from "../cluster/cluster.ts";
import { waitFor } from "../support/wait.ts";
import { find, helmBinary, render, type K8sObject } from "../chart/helm.ts";

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

function granted(role: K8sObject): string[] {
  const rules = (role.rules ?? []) as Rule[];
  return rules.flatMap((r) => {
    assert.equal(r.resourceNames, undefined, "weft check asks about whole resources; a rule limited to names needs resourceNames in the check too");
    return (r.apiGroups ?? []).flatMap((group) =>
      (r.resources ?? []).flatMap((resource) => (r.verbs ?? []).map((verb) => permissionKey({ verb, group, resource }))));
  }).sort();
}

describe("weft check: component RBAC", function () {
  this.timeout(180_000);
  before(function () {
    if (helmBinary() === undefined) this.skip();
  });

  it("checks exactly what the chart's ClusterRoles grant each component's ServiceAccount", () => {
    const objects = render();
    for (const c of COMPONENT_PERMISSIONS) {
      const want = c.permissions.map(permissionKey).sort();
      assert.deepEqual(granted(find(objects, "ClusterRole", c.clusterRole)), want, `ClusterRole ${c.clusterRole}`);
      const binding = find(objects, "ClusterRoleBinding", c.clusterRole) as K8sObject & { subjects: { kind: string; name: string; namespace: string }[]; roleRef: { name: string } };
      assert.equal(binding.roleRef.name, c.clusterRole);
      assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: c.serviceAccount, namespace: "weft-system" }]);
    }
  });

  describe("against a real apiserver", function () {
    before(function () {
      if (!kubernetesBinariesAvailable()) this.skip();
    });
    const cluster = useCluster();

    it("passes with the chart's RBAC applied and names the missing permission once a binding is deleted", async () => {
      const c = cluster();
      const ns = await c.createNamespace("weft-rbac");
      const rbac = render([], ns).filter((o) =>
        COMPONENT_PERMISSIONS.some((p) => o.metadata.name === p.clusterRole) && ["ServiceAccount", "ClusterRole", "ClusterRoleBinding"].includes(o.kind));
      assert.equal(rbac.length, 3 * COMPONENT_PERMISSIONS.length);
      const applied = await c.kubectl(["apply", "-f", "-"], { input: rbac.map((o) => stringify(o)).join("---\n") });
      assert.equal(applied.code, 0, applied.stderr);
      const rbacResults = async () =>
        (await runChecks(c.kubeConfig, ns, false, { proxiesRetry: { attempts: 1, intervalMs: 0 } })).filter((r) => r.name.startsWith("rbac-"));
      // The authorizer's cache sees new bindings within moments; poll rather than assume.
      let results = await rbacResults();
      await waitFor("both components' RBAC checks pass", async () => (results = await rbacResults()).every((r) => r.ok), { timeoutMs: 60_000, intervalMs: 500 });
      assert.deepEqual(results.map((r) => r.name), ["rbac-control-plane", "rbac-webhook"]);
      assert.equal(results[0]?.message, `ServiceAccount ${ns}/weft-control-plane: all ${COMPONENT_PERMISSIONS[0]?.permissions.length} permissions it needs granted`);

      const deleted = await c.kubectl(["delete", "clusterrolebinding", "weft-webhook"]);
      assert.equal(deleted.code, 0, deleted.stderr);
      await waitFor("the webhook's RBAC check fails", async () => (results = await rbacResults()).some((r) => !r.ok), { timeoutMs: 60_000, intervalMs: 500 });
      const webhook = results.find((r) => r.name === "rbac-webhook");
      assert.equal(webhook?.ok, false);
      assert.equal(webhook?.message, `ServiceAccount ${ns}/weft-webhook missing: get namespaces`);
      assert.match(webhook?.hint ?? "", /ClusterRoleBinding weft-webhook/);
      assert.equal(results.find((r) => r.name === "rbac-control-plane")?.ok, true);
      await c.kubectl(["delete", "clusterrolebinding,clusterrole", "weft-control-plane", "--ignore-not-found"]);
      await c.kubectl(["delete", "clusterrole", "weft-webhook", "--ignore-not-found"]);
    });
  });
});
