// Every inspection command's table, wide and JSON output for recorded inputs,
// and docs/cli.md's examples, against test/cli/golden/ (see golden-cases.ts).
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CLI_GOLDEN_DIR, DOCS_CLI, cliGoldenCases, renderCliGolden, renderDocs } from "./golden-cases.ts";

const UPDATE = "npm run test:cli-golden:update";

describe("weft inspection commands' golden outputs", () => {
  for (const { command, name } of cliGoldenCases()) {
    it(`${command}/${name}`, () => {
      for (const [suffix, text] of Object.entries(renderCliGolden(command, name))) {
        const expected = readFileSync(join(CLI_GOLDEN_DIR, command, `${name}.${suffix}`), "utf8");
        assert.equal(text, expected, `${command}/${name}.${suffix} differs; if the change is intended, run ${UPDATE} and review the diff`);
      }
    });
  }

  it("has a case for every command", () => {
    assert.deepEqual([...new Set(cliGoldenCases().map((c) => c.command))].sort(), ["edges", "proxy-config", "proxy-status", "stat", "tap", "top", "top-paths", "version"]);
  });

  it("docs/cli.md shows the golden outputs, not hand-typed ones", () => {
    const doc = readFileSync(DOCS_CLI, "utf8");
    assert.match(doc, /<!-- golden: /);
    assert.equal(renderDocs(doc, (rel) => readFileSync(join(CLI_GOLDEN_DIR, rel), "utf8")), doc, `docs/cli.md is out of date: run ${UPDATE}`);
  });
});
