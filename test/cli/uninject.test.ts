// `weft uninject` undoes `weft inject`: for every webhook golden input,
// inject → uninject gives back the original objects (structurally, up to the
// two things the injector does not keep: a probe's named port and an explicit
// `scheme: HTTP`, both normalized before comparing).
import { strict as assert } from "node:assert";
import { parseAllDocuments } from "yaml";
import { injectYaml } from "../../cli/src/inject-yaml.ts";
import { uninjectYaml } from "../../cli/src/uninject-yaml.ts";
import { goldenCases, goldenConfig, goldenInput } from "../webhook/golden-cases.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Named probe ports resolved against the container's ports, and `scheme: HTTP` dropped. */
function normalize(value: unknown, ports: Map<string, number> = new Map()): unknown {
  if (Array.isArray(value)) return value.map((v) => normalize(v, ports));
  if (!isObj(value)) return value;
  let scope = ports;
  if (Array.isArray(value.ports) && typeof value.name === "string") {
    scope = new Map(ports);
    for (const p of value.ports) if (isObj(p) && typeof p.name === "string" && typeof p.containerPort === "number") scope.set(p.name, p.containerPort);
  }
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    if ((k === "httpGet" || k === "tcpSocket") && isObj(v)) {
      const probe: Obj = { ...v };
      if (typeof probe.port === "string" && scope.has(probe.port)) probe.port = scope.get(probe.port);
      if (probe.scheme === "HTTP") delete probe.scheme;
      out[k] = probe;
    } else out[k] = normalize(v, scope);
  }
  return out;
}

const values = (text: string): unknown[] => parseAllDocuments(text, { version: "1.1" }).map((d) => normalize(d.toJS()));

describe("weft uninject", () => {
  for (const name of goldenCases()) {
    it(`inject then uninject gives back the webhook golden input ${name}`, () => {
      const original = goldenInput(name);
      const injected = injectYaml(original, goldenConfig(name));
      assert.ok(injected.ok, injected.ok ? "" : injected.message);
      const back = uninjectYaml(injected.value.yaml);
      assert.ok(back.ok, back.ok ? "" : back.message);
      // An input that was injected already is left alone by inject; uninject strips it, as it would the original.
      const already = /weft-proxy/.test(original);
      const expected = already ? uninjectYaml(original) : undefined;
      assert.deepEqual(values(back.value.yaml), values(expected?.ok ? expected.value.yaml : original));
      assert.doesNotMatch(back.value.yaml, /weft-proxy|weft-init|weft\.io\/meshed|injected-by/);
    });
  }

  it("leaves a document without Weft's additions byte for byte", () => {
    const text = "# keep me\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}   # flow style kept\n---\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: [{name: a, image: b}]\n";
    const r = uninjectYaml(text);
    assert.ok(r.ok);
    assert.equal(r.value.yaml, text);
    assert.equal(r.value.changed, 0);
  });

  it("refuses YAML it cannot read with a reason", () => {
    const r = uninjectYaml("a: [\n");
    assert.equal(r.ok, false);
  });
});
