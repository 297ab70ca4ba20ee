// Golden files: every selection rule and injection detail (docs/injection.md) has an
// input and the expected output under test/webhook/golden. A change to the
// injected shape shows up as a diff there (npm run test:golden:update).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { GOLDEN_DIR, goldenCases, runGoldenCase } from "./golden-cases.ts";

function documents(text: string): unknown[] {
  return parseAllDocuments(text as string)
    .map((d) => d.toJS())
    .filter((v) => v !== null && v !== undefined);
}

describe("golden injection cases", () => {
  const cases = goldenCases();

  it("cover every selection rule", () => {
    const decisions = cases.map((c) => readFileSync(join(GOLDEN_DIR, `${c}.decision`), "utf8")).join("");
    for (const code of ["injected", "namespace-not-enabled", "pod-annotation-disabled", "already-injected", "host-network", "control-plane-namespace", "kube-system"]) {
      assert.match(decisions, new RegExp(`: ${code}\\n`), `no golden case decides ${code}`);
    }
  });

  for (const name of cases) {
    it(`${name} matches ${name}.injected.yaml`, () => {
      const actual = runGoldenCase(name);
      const expected = readFileSync(join(GOLDEN_DIR, `${name}.injected.yaml`), "utf8");
      assert.deepStrictEqual(documents(actual.injected), documents(expected), `${name}: run npm run test:golden:update and review the diff`);
      assert.equal(actual.decision, readFileSync(join(GOLDEN_DIR, `${name}.decision`), "utf8"));
    });
  }
});
