// The chart's CRDs are templates (so `helm upgrade` upgrades them), installed
// unless crds.install=false, and kept on `helm uninstall` unless
// crds.keepOnUninstall=false: deleting a CRD deletes every policy of its kind.
// What the apiserver makes of the schema is test/cluster/authz-crd.test.ts's.
import assert from "node:assert/strict";
import { ApiextensionsV1Api, type V1CustomResourceDefinition } from "@kubernetes/client-node";
import { AUTHZ_GROUP, AUTHZ_KIND, AUTHZ_PLURAL, AUTHZ_VERSION } from "../../lib/authz/spec.ts";
import { kubernetesBinariesAvailable, useCluster } from "../cluster/cluster.ts";
import { waitFor } from "../support/wait.ts";
import { CHART, find, helm, helmBinary, render, type K8sObject } from "./helm.ts";

const CRD_NAME = `${AUTHZ_PLURAL}.${AUTHZ_GROUP}`;
const crds = (objects: K8sObject[]): K8sObject[] => objects.filter((o) => o.kind === "CustomResourceDefinition" && !o.metadata.name.endsWith(".gateway.networking.k8s.io"));
const gatewayCrds = (objects: K8sObject[]): K8sObject[] => objects.filter((o) => o.kind === "CustomResourceDefinition" && o.metadata.name.endsWith(".gateway.networking.k8s.io"));

describe("chart: CRDs", function () {
  this.timeout(120_000);
  before(function () {
    if (helmBinary() === undefined) this.skip();
  });

  it("renders the AuthorizationPolicy CRD by default, kept on uninstall", () => {
    const crd = find(render(), "CustomResourceDefinition", CRD_NAME);
    assert.equal(crd.metadata.annotations?.["helm.sh/resource-policy"], "keep");
    assert.equal(crd.metadata.namespace, undefined, "a CRD is cluster-scoped");
    const spec = (crd as unknown as V1CustomResourceDefinition).spec;
    assert.equal(spec.group, AUTHZ_GROUP);
    assert.equal(spec.scope, "Namespaced");
    assert.equal(spec.names.kind, AUTHZ_KIND);
    assert.equal(spec.names.plural, AUTHZ_PLURAL);
    assert.deepEqual(spec.names.shortNames, ["wap"]);
    assert.deepEqual(spec.versions.map((v) => [v.name, v.served, v.storage]), [[AUTHZ_VERSION, true, true]]);
    assert.deepEqual(spec.versions[0]?.additionalPrinterColumns?.map((c) => c.name), ["Action", "Target", "Age"]);
  });

  it("is a template, not in crds/ (which Helm installs once and never upgrades)", () => {
    const r = helm(["show", "crds", CHART]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "");
    assert.equal(crds(render(["--skip-crds"])).length, 1);
  });

  it("drops the keep annotation with crds.keepOnUninstall=false", () => {
    const crd = find(render(["--set", "crds.keepOnUninstall=false"]), "CustomResourceDefinition", CRD_NAME);
    assert.equal(crd.metadata.annotations?.["helm.sh/resource-policy"], undefined);
  });

  it("renders no CRD with crds.install=false, and everything else as before", () => {
    const without = render(["--set", "crds.install=false"]);
    assert.deepEqual(crds(without), []);
    const names = (objects: K8sObject[]) => objects.filter((o) => o.kind !== "CustomResourceDefinition").map((o) => `${o.kind}/${o.metadata.name}`).sort();
    assert.deepEqual(names(without), names(render()));
  });

  it("renders the vendored Gateway API CRDs (standard channel with GRPCRoute) by default, kept on uninstall, and none with gatewayAPI.installCRDs=false", () => {
    const gateway = gatewayCrds(render());
    const names = gateway.map((o) => o.metadata.name);
    for (const name of ["httproutes", "grpcroutes", "referencegrants", "gateways", "gatewayclasses"]) assert.ok(names.includes(`${name}.gateway.networking.k8s.io`), name);
    for (const crd of gateway) {
      assert.equal(crd.metadata.annotations?.["helm.sh/resource-policy"], "keep", crd.metadata.name);
      assert.equal(crd.metadata.annotations?.["gateway.networking.k8s.io/bundle-version"], "v1.6.3", crd.metadata.name);
      assert.equal(crd.metadata.annotations?.["gateway.networking.k8s.io/channel"], "standard", crd.metadata.name);
    }
    assert.ok(!render().some((o) => o.kind === "ValidatingAdmissionPolicy"), "the upgrade guard is left to a cluster-wide Gateway API install");
    assert.deepEqual(gatewayCrds(render(["--set", "gatewayAPI.installCRDs=false"])), []);
    assert.equal(crds(render(["--set", "gatewayAPI.installCRDs=false"])).length, 1, "the AuthorizationPolicy CRD does not depend on it");
  });

  it("refuses a crds setting that is not a boolean, naming it", () => {
    const r = helm(["template", "weft", CHART, "--set", "crds.install=maybe"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\/crds\/install/);
    const unknown = helm(["template", "weft", CHART, "--set", "crds.upgrade=true"]);
    assert.match(unknown.stderr, /\/crds.*additional properties 'upgrade' not allowed/);
  });
});

// No node: the release's pods never run, which is beside the point here (and
// install.test.ts installs on a real node).
describe("chart: CRDs through helm install, upgrade and uninstall", function () {
  this.timeout(180_000);
  before(function () {
    if (helmBinary() === undefined || !kubernetesBinariesAvailable()) this.skip();
  });
  const cluster = useCluster();
  const run = (args: string[]) => {
    const r = helm([...args, "--kubeconfig", cluster().kubeconfigPath]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  };
  const readCrd = async (): Promise<V1CustomResourceDefinition | undefined> => {
    try {
      return await cluster().kubeConfig.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: CRD_NAME });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  };

  it("keeps the CRD on uninstall, adopts it again on reinstall, and deletes it once keepOnUninstall=false is upgraded in", async () => {
    run(["install", "weft", CHART, "-n", "weft-system", "--create-namespace"]);
    assert.equal((await readCrd())?.metadata?.annotations?.["helm.sh/resource-policy"], "keep");
    run(["uninstall", "weft", "-n", "weft-system"]);
    assert.ok(await readCrd(), "the CRD outlives the release");

    run(["install", "weft", CHART, "-n", "weft-system"]);
    // An upgrade rewrites the CRD: a file in crds/ would keep its first version.
    run(["upgrade", "weft", CHART, "-n", "weft-system", "--set", "crds.keepOnUninstall=false"]);
    assert.equal((await readCrd())?.metadata?.annotations?.["helm.sh/resource-policy"], undefined);
    run(["uninstall", "weft", "-n", "weft-system"]);
    // The apiserver removes a CRD after its objects, asynchronously.
    await waitFor("the CRD to be deleted", async () => (await readCrd()) === undefined, { timeoutMs: 60_000, intervalMs: 100 });
  });
});
