// `npm run bench -- <suite> [--json] [suite flags]`: runs one benchmark suite,
// prints its table, and with --json prints one JSON object as the last line.
// Suites live in bench/<suite>.ts and export `run(args): Promise<BenchReport>`.
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { formatTable, type BenchReport } from "./report.ts";

interface Suite {
  run(args: string[]): Promise<BenchReport>;
}

const benchDir = fileURLToPath(new URL(".", import.meta.url));
const suites = readdirSync(benchDir)
  .filter((f) => f.endsWith(".ts") && !["main.ts", "report.ts"].includes(f) && !f.startsWith("lib-"))
  .map((f) => f.slice(0, -3))
  .sort();

const argv = process.argv.slice(2);
const json = argv.includes("--json");
const [name, ...rest] = argv.filter((a) => a !== "--json");
if (!name || !suites.includes(name)) {
  console.error(`usage: npm run bench -- <suite> [--json]\nsuites: ${suites.join(", ")}`);
  process.exit(2);
}
const suite = (await import(`./${name}.ts`)) as Suite;
const report = await suite.run(rest);
console.log(formatTable(report));
if (json) console.log(JSON.stringify(report));
process.exit(0);
