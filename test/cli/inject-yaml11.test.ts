// `weft inject` output means to kubectl (a YAML 1.1 reader) what its input
// meant: objects it does not inject come out byte for byte, and injected ones
// read, under YAML 1.1, as exactly the injector's result for the input's YAML
// 1.1 reading, with quoted "yes"/"on"/"0644" still strings and 0644 still 420.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { needsQuotes } from "../../cli/src/inject-yaml-edit.ts";
import { injectValues } from "../../webhook/src/inject-manifests.ts";
import { DEFAULT_INJECTOR_CONFIG } from "../../webhook/src/injector-config.ts";
import { weft } from "../webhook/weft-cli.ts";

type Obj = Record<string, any>;

const FIXTURES = fileURLToPath(new URL("../fixtures/inject-yaml11/", import.meta.url));
const fixture = (name: string) => readFileSync(`${FIXTURES}${name}`, "utf8");

/** What kubectl's YAML 1.1 reading makes of each document. */
const read11 = (text: string): unknown[] => parseAllDocuments(text, { version: "1.1" }).map((d) => d.toJS());

/** Each document's text, from the end of the one before, as the Document API cuts the stream. */
function segments(text: string): string[] {
  let pos = 0;
  return parseAllDocuments(text, { version: "1.1" }).map((d) => {
    const s = text.slice(pos, d.range[2]);
    pos = d.range[2];
    return s;
  });
}

describe("weft inject keeps the meaning kubectl reads (YAML 1.1)", function () {
  this.timeout(60_000);

  it("writes a file with nothing to inject byte for byte: comments, directives, separators, quoted and plain 1.1 scalars, anchors", async () => {
    const input = fixture("passthrough.yaml");
    const res = await weft(["inject", `${FIXTURES}passthrough.yaml`]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, input);
    assert.match(res.stderr, /^Pod\/opted-out \(default\): pod-annotation-disabled/m);
  });

  it("writes the documents it does not change byte for byte next to ones it injects", async () => {
    const input = fixture("deployment.yaml");
    const res = await weft(["inject", "-"], input);
    assert.equal(res.code, 0, res.stderr);
    const before = segments(input);
    const after = segments(res.stdout);
    assert.equal(after.length, before.length);
    assert.equal(after[0], before[0]);
    assert.notEqual(after[1], before[1]);
  });

  for (const name of ["deployment.yaml", "aliases.yaml"]) {
    it(`writes injected objects that read under YAML 1.1 as the injector's result for the input's YAML 1.1 reading (${name})`, async () => {
      const input = fixture(name);
      const res = await weft(["inject"], input);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, /: injected$/m);
      assert.deepStrictEqual(read11(res.stdout), injectValues(read11(input), DEFAULT_INJECTOR_CONFIG).values);
    });
  }

  it("keeps quoted booleans and octal strings strings, octal modes 0644 and 0400, and what aliases pointed at", async () => {
    const res = await weft(["inject"], fixture("deployment.yaml"));
    assert.equal(res.code, 0, res.stderr);
    const [configMap, deployment, list] = read11(res.stdout) as Obj[];
    assert.deepStrictEqual(configMap!.data, { debug: "on", mode: "0644", retries: "1:20" });
    assert.equal(deployment!.metadata.annotations.rollout, "on");
    const template = deployment!.spec.template;
    assert.equal(template.metadata.annotations.feature, "yes");
    assert.equal(template.metadata.annotations.legacy, "y");
    assert.equal(template.metadata.labels["weft.io/meshed"], "true");
    // The labels were an alias of the selector's: injecting the template must not change the selector.
    assert.deepStrictEqual(deployment!.spec.selector.matchLabels, { app: "web" });
    const app = template.spec.containers[0];
    assert.deepStrictEqual(app.args, ["--verbose", "no", "0400", "~"]);
    assert.deepStrictEqual(Object.fromEntries(app.env.map((e: Obj) => [e.name, e.value])), { ENABLED: "yes", MODE: "0644", TIME: 80, NOTHING: "null" });
    assert.deepStrictEqual(template.spec.volumes.slice(0, 2).map((v: Obj) => (v.configMap ?? v.secret).defaultMode), [0o644, 0o400]);
    const [listed, twin] = list!.items as Obj[];
    assert.equal(listed!.metadata.labels.tier, "off");
    assert.equal(listed!.spec.containers[0].env[0].value, "on");
    assert.equal(twin!.spec.volumes.length, 1, "the twin pod shared the injected pod's volumes by alias");
    assert.equal(twin!.spec.volumes[0].secret.defaultMode, 0o644);
    // Untouched scalars keep the text they were written in, which kubectl's reader
    // takes as the input did (1:20 is a string to it, 80 to a base-60 reader).
    assert.match(res.stdout, /defaultMode: 0644\n/);
    assert.match(res.stdout, /value: 1:20\n/);
    assert.match(res.stdout, /name: web # the app\n/);
  });

  it("quotes every string a YAML 1.1 reader would take for another type", () => {
    const plainNonStrings = ["y", "Y", "n", "N", "yes", "Yes", "YES", "no", "NO", "on", "On", "ON", "off", "OFF", "true", "True", "FALSE", "~", "null", "NULL", "0644", "0400", "0x1F", "0b101", "1:20", "1_000", "1e3", "1.5", ".5", "-1", "+1", ".inf", "-.inf", ".nan", "2001-12-14", "2001-12-14 21:59:43.10 -5"];
    for (const s of plainNonStrings) {
      assert.notEqual(typeof read11(`v: ${s}`).map((d) => (d as Obj).v)[0], "string", `${s} should not be a string to YAML 1.1`);
      assert.ok(needsQuotes(s), `${s} must be quoted`);
    }
    // Spellings YAML 1.1 leaves strings, quoted anyway: harmless, and some readers differ.
    for (const s of ["yEs", "oN", "0o644", ""]) assert.ok(needsQuotes(s), `${s} is quoted`);
    for (const s of ["web", "ghcr.io/weft-mesh/weft:0.1.0", "weft 0.1.0; config abc", "/ready", "FallbackToLogsOnError"]) assert.ok(!needsQuotes(s), `${s} stays plain`);
  });
});
