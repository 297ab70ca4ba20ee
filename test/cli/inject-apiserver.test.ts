// What `weft inject` writes means to kubectl and a real apiserver what the input
// meant: both are applied with `kubectl apply --dry-run=server`, and the values
// YAML 1.2 would change ("yes", "on", "y", 0644, 0400, 1:20) come back the same.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { kubernetesBinariesAvailable, useCluster } from "../cluster/cluster.ts";
import { weft } from "../webhook/weft-cli.ts";

interface K8sObject {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: { template?: K8sObject; containers?: { name: string; args?: string[]; env?: { name: string; value?: string }[] }[]; volumes?: { name: string; configMap?: { defaultMode?: number }; secret?: { defaultMode?: number } }[] };
}

const FIXTURE = fileURLToPath(new URL("../fixtures/inject-yaml11/deployment.yaml", import.meta.url));

// Not the user's: kubectl's record of what was applied, and the injector's mark.
const own = (annotations: Record<string, string> | undefined) =>
  Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => !k.startsWith("kubectl.kubernetes.io/") && !k.startsWith("weft.io/injected")));

/** The parts of each object the injector must not change, as the apiserver stored them. */
function userParts(objects: K8sObject[]): unknown[] {
  return objects.map((o) => {
    const pod = o.kind === "Deployment" ? o.spec?.template : o;
    const app = pod?.spec?.containers?.find((c) => c.name === "app");
    return {
      kind: o.kind,
      name: o.metadata.name,
      data: o.data,
      annotations: own(o.metadata.annotations),
      podAnnotations: own(pod?.metadata.annotations),
      args: app?.args,
      env: app?.env,
      modes: pod?.spec?.volumes?.filter((v) => !v.name.startsWith("weft-")).map((v) => (v.configMap ?? v.secret)?.defaultMode),
    };
  });
}

describe("weft inject's output as the apiserver reads it", function () {
  this.timeout(120_000);
  before(function () {
    if (!kubernetesBinariesAvailable()) this.skip();
  });
  const cluster = useCluster();

  it("is accepted by kubectl apply --dry-run=server with the input's values, quoted booleans and octal modes included", async () => {
    const c = cluster();
    const ns = await c.createNamespace("inject");
    const input = readFileSync(FIXTURE, "utf8");
    const injected = await weft(["inject", FIXTURE]);
    assert.equal(injected.code, 0, injected.stderr);
    const dryRun = async (yaml: string): Promise<K8sObject[]> => {
      const res = await c.kubectl(["apply", "--dry-run=server", "-n", ns, "-o", "json", "-f", "-"], { input: yaml });
      assert.equal(res.code, 0, res.stderr);
      return (JSON.parse(res.stdout) as { items: K8sObject[] }).items;
    };
    const before = await dryRun(input);
    const after = await dryRun(injected.stdout);
    assert.deepStrictEqual(userParts(after), userParts(before));
    const deployment = after.find((o) => o.kind === "Deployment");
    assert.deepStrictEqual(
      deployment?.spec?.template?.spec?.volumes?.map((v) => v.name),
      ["config", "secret", "weft-xtables-lock", "weft-identity-token"],
      "the injected Deployment reached the apiserver",
    );
  });
});
