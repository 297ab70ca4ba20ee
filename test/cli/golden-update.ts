// `npm run test:cli-golden:update`: rewrites every CLI golden output from its
// input and refreshes docs/cli.md's examples from them. Review the diff.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI_GOLDEN_DIR, DOCS_CLI, cliGoldenCases, renderCliGolden, renderDocs } from "./golden-cases.ts";

for (const { command, name } of cliGoldenCases()) {
  for (const [suffix, text] of Object.entries(renderCliGolden(command, name))) writeFileSync(join(CLI_GOLDEN_DIR, command, `${name}.${suffix}`), text);
  console.log(`updated ${command}/${name}`);
}
writeFileSync(DOCS_CLI, renderDocs(readFileSync(DOCS_CLI, "utf8"), (rel) => readFileSync(join(CLI_GOLDEN_DIR, rel), "utf8")));
console.log("updated docs/cli.md");
