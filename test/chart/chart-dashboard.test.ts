// The chart's dashboard: off by default; when enabled, a ClusterIP Service only (reached
// through the apiserver by `weft dashboard`), a non-root pod running the dashboard image
// with the release's namespaces and the Jaeger link, and a ServiceAccount that may read
// what the pages show and tap, but no Secret.
import assert from "node:assert/strict";
import type { V1ClusterRole, V1Deployment, V1Role, V1Service, V1ClusterRoleBinding } from "@kubernetes/client-node";
import { find, helm, helmBinary, render, CHART, type K8sObject } from "./helm.ts";

describe("chart: dashboard", function () {
  this.timeout(60_000);
  let objects: K8sObject[];
  before(function () {
    if (helmBinary() === undefined) this.skip();
    objects = render(["--set", "dashboard.enabled=true", "--set", "prometheus.enabled=true", "--set", "dashboard.jaegerUrl=http://localhost:16686"], "mesh-ops");
  });

  it("is not installed by default", () => {
    assert.equal(render().filter((o) => o.metadata?.name?.startsWith("weft-dashboard")).length, 0);
  });

  it("serves on a ClusterIP Service only, from a non-root pod of the weft-dashboard image", () => {
    const svc = find(objects, "Service", "weft-dashboard") as unknown as V1Service;
    assert.equal(svc.spec?.type, "ClusterIP");
    const spec = (find(objects, "Deployment", "weft-dashboard") as unknown as V1Deployment).spec?.template.spec;
    const c = spec?.containers[0];
    assert.match(c?.image ?? "", /\/weft-dashboard:/);
    assert.equal(spec?.securityContext?.runAsNonRoot, true);
    assert.equal(c?.securityContext?.readOnlyRootFilesystem, true);
    for (const arg of ["--port=8084", "--control-plane-namespace=mesh-ops", "--prometheus-namespace=mesh-ops", "--jaeger-url=http://localhost:16686"]) assert.ok(c?.args?.includes(arg), `${arg} in ${c?.args?.join(" ")}`);
  });

  it("may read what the pages show and tap, but no Secret", () => {
    const cluster = find(objects, "ClusterRole", "weft-dashboard") as unknown as V1ClusterRole;
    const role = find(objects, "Role", "weft-dashboard") as unknown as V1Role;
    const resources = [...(cluster.rules ?? []), ...(role.rules ?? [])].flatMap((r) => r.resources ?? []);
    for (const r of ["pods", "pods/proxy", "services/proxy", "authorizationpolicies", "httproutes"]) assert.ok(resources.includes(r), r);
    assert.ok(!resources.includes("secrets"), "no Secret");
    const tap = find(objects, "ClusterRoleBinding", "weft-dashboard-tap") as unknown as V1ClusterRoleBinding;
    assert.equal(tap.roleRef.name, "weft-tap-reader");
    assert.deepEqual(tap.subjects?.map((s) => `${s.namespace ?? ""}/${s.name}`), ["mesh-ops/weft-dashboard"]);
  });

  it("refuses a Jaeger link that is not an http(s) URL", () => {
    const r = helm(["template", "weft", CHART, "--set", "dashboard.enabled=true", "--set", "dashboard.jaegerUrl=javascript:alert(1)"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /jaegerUrl/);
  });
});
