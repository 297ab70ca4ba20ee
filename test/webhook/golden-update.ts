// `npm run test:golden:update`: rewrites every <case>.injected.yaml and
// <case>.decision from its input. Review the diff before committing it.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { GOLDEN_DIR, goldenCases, runGoldenCase } from "./golden-cases.ts";

for (const name of goldenCases()) {
  const out = runGoldenCase(name);
  writeFileSync(join(GOLDEN_DIR, `${name}.injected.yaml`), out.injected);
  writeFileSync(join(GOLDEN_DIR, `${name}.decision`), out.decision);
  console.log(`updated ${name}`);
}
