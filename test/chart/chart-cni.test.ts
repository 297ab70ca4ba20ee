// The chart in CNI mode: off by default (no DaemonSet, the injector adds
// weft-init); cni.enabled=true renders the weft-cni DaemonSet on the
// configured node dirs with least privilege, and an injector config the
// webhook parses into CNI mode (weft-validate, from the proxy's image).
import assert from "node:assert/strict";
import type { V1ClusterRole, V1DaemonSet } from "@kubernetes/client-node";
import { parseInjectorConfig } from "../../webhook/src/injector-config.ts";
import { find, helmBinary, render, type K8sObject } from "./helm.ts";

const injectorConfig = (objects: K8sObject[]) => {
  const parsed = parseInjectorConfig((find(objects, "ConfigMap", "weft-injector").data as Record<string, string>)["config.yaml"] ?? "");
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.message);
  return parsed.value;
};

describe("chart: CNI mode", function () {
  this.timeout(60_000);
  before(function () {
    if (helmBinary() === undefined) this.skip();
  });

  it("is off by default: no DaemonSet, and the injector is not in CNI mode", () => {
    const objects = render();
    assert.equal(objects.filter((o) => o.metadata.name === "weft-cni").length, 0);
    assert.equal(injectorConfig(objects).cni, undefined);
  });

  it("cni.enabled=true renders the DaemonSet on the node's dirs and the injector in CNI mode", () => {
    const objects = render(["--set", "cni.enabled=true", "--set", "cni.binDir=/var/lib/cni/bin", "--set", "cni.confDir=/etc/cni/conf.d", "--set", "cni.validationTarget=10.0.0.1:9"]);
    const ds = find(objects, "DaemonSet", "weft-cni") as unknown as V1DaemonSet;
    const spec = ds.spec?.template.spec;
    assert.equal(spec?.hostNetwork, true);
    const c = spec?.containers[0];
    assert.ok(c?.args?.includes("--bin-dir=/var/lib/cni/bin") && c.args.includes("--conf-dir=/etc/cni/conf.d"), JSON.stringify(c?.args));
    assert.deepEqual(spec?.volumes?.filter((v) => v.hostPath).map((v) => v.hostPath?.path), ["/var/lib/cni/bin", "/etc/cni/conf.d"]);
    assert.deepEqual(c?.volumeMounts?.filter((m) => m.name.startsWith("cni-")).map((m) => m.mountPath), ["/var/lib/cni/bin", "/etc/cni/conf.d"]);
    assert.equal(c?.securityContext?.privileged, undefined);
    assert.deepEqual(c?.securityContext?.capabilities?.drop, ["ALL"]);
    assert.ok(c?.readinessProbe?.exec, "ready means in the chain");
    const role = find(objects, "ClusterRole", "weft-cni") as unknown as V1ClusterRole;
    assert.deepEqual(role.rules, [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }]);
    const cni = injectorConfig(objects).cni;
    assert.ok(cni);
    assert.equal(cni.validationTarget, "10.0.0.1:9");
    assert.match(cni.image, /\/weft-proxy:/);
  });

  it("refuses a relative bin dir and a target that is not host:port", () => {
    for (const bad of [["cni.binDir=opt/cni/bin"], ["cni.validationTarget=nowhere"]]) {
      assert.throws(() => render(["--set", "cni.enabled=true", ...bad.flatMap((b) => ["--set", b])]));
    }
  });
});
