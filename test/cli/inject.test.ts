// `weft inject` as a user runs it: files or stdin in, injected YAML out on
// stdout, one decision per pod (template) on stderr.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { GOLDEN_DIR, goldenCases } from "../webhook/golden-cases.ts";
import { caseConfigFile, weft } from "../webhook/weft-cli.ts";

const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJS()).filter((v) => v !== null && v !== undefined);

describe("weft inject", function () {
  this.timeout(60_000);

  for (const name of goldenCases()) {
    it(`writes ${name}.injected.yaml for ${name}.yaml`, async () => {
      const res = await weft(["inject", "--config", caseConfigFile(name), join(GOLDEN_DIR, `${name}.yaml`)]);
      assert.equal(res.code, 0, res.stderr);
      assert.deepStrictEqual(docs(res.stdout), docs(readFileSync(join(GOLDEN_DIR, `${name}.injected.yaml`), "utf8")));
      const expectedLines = readFileSync(join(GOLDEN_DIR, `${name}.decision`), "utf8").split("\n").filter((l) => l && !l.startsWith("  "));
      for (const line of expectedLines) assert.ok(res.stderr.includes(line), `stderr lacks "${line}":\n${res.stderr}`);
    });
  }

  it("reads stdin and several documents, and reports each decision on stderr", async () => {
    const input = readFileSync(join(GOLDEN_DIR, "workloads.yaml"), "utf8");
    const res = await weft(["inject", "--config", caseConfigFile("workloads")], input);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(docs(res.stdout).length, 6);
    assert.match(res.stderr, /^Deployment\/web \(shop\): injected$/m);
    assert.match(res.stderr, /^CronJob\/nightly \(shop\): pod-annotation-disabled \(/m);
  });

  it("treats namespaces as the --namespace-labels say", async () => {
    const pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: x\n";
    const off = await weft(["inject", "--namespace", "apps", "--namespace-labels", "team=a"], pod);
    assert.equal(off.code, 0);
    assert.match(off.stderr, /Pod\/p \(apps\): namespace-not-enabled/);
    assert.deepStrictEqual(docs(off.stdout), docs(pod));
    const on = await weft(["inject"], pod);
    assert.match(on.stderr, /Pod\/p \(default\): injected/);
  });

  const malformed: Record<string, string> = {
    'a Pod whose containers are "oops"': "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: oops\n",
    "a Pod whose initContainers are a map": "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: x}]\n  initContainers: {}\n",
    "a Pod with an empty spec": "kind: Pod\nmetadata: {name: p}\nspec: {}\n",
    "a Deployment whose template has an empty spec": "kind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec: {}\n",
  };
  for (const [what, yaml] of Object.entries(malformed)) {
    it(`refuses ${what} with one line naming the webhook's invalid-pod rule, and no stack trace`, async () => {
      const res = await weft(["inject"], `kind: ConfigMap\nmetadata: {name: c}\n---\n${yaml}`);
      assert.equal(res.code, 1);
      assert.equal(res.stdout, "");
      assert.equal(res.stderr.trimEnd().split("\n").length, 1, res.stderr);
      assert.match(res.stderr, /^weft inject: stdin: document 2: (Pod\/p|Deployment\/d: spec\.template) is not a pod the webhook would inject \(invalid-pod\): /);
    });
  }

  it("reports a pod the injector cannot take as one injection-failed line, as the webhook would, not a stack trace", async () => {
    const pod = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      ports: 5\n      readinessProbe: {httpGet: {port: http}}\n";
    const res = await weft(["inject"], pod);
    assert.equal(res.code, 1);
    assert.equal(res.stderr.trimEnd().split("\n").length, 1, res.stderr);
    assert.match(res.stderr, /^weft inject: stdin: the injector failed on this input: /);
  });

  it("fails with a clear message on YAML it cannot read, a missing file or a bad flag", async () => {
    const bad = await weft(["inject"], "kind: [\n");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /weft inject: stdin: document 1: /);
    const missing = await weft(["inject", "/nonexistent/x.yaml"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ENOENT/);
    const flag = await weft(["inject", "--bogus"]);
    assert.equal(flag.code, 2);
    const config = await weft(["inject", "--config", join(GOLDEN_DIR, "list.yaml")], "");
    assert.equal(config.code, 1);
    assert.match(config.stderr, /config .*list\.yaml/);
  });
});
