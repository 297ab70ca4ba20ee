// Regenerates the TypeScript types for every .proto under api/ into api/gen.
// proto-loader-gen-types writes extensionless relative imports; Node's ESM
// loader and `rewriteRelativeImportExtensions` need explicit `.ts`, so they are
// rewritten here rather than patched by hand after each regeneration.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const apiDir = fileURLToPath(new URL(".", import.meta.url));
const outDir = join(apiDir, "gen");
const protos = readdirSync(apiDir).filter((f) => f.endsWith(".proto"));

rmSync(outDir, { recursive: true, force: true });
execFileSync(
  "proto-loader-gen-types",
  ["--longs", "String", "--enums", "String", "--defaults", "--oneofs", "--grpcLib", "@grpc/grpc-js",
    "-I", apiDir, "-O", outDir, ...protos],
  { stdio: "inherit", cwd: apiDir },
);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

for (const file of walk(outDir).filter((f) => f.endsWith(".ts"))) {
  const text = readFileSync(file, "utf8")
    .replace(/from '(\.{1,2}\/[^']+?)';/g, "from '$1.ts';")
    .replace(/^\/\/ Original file: .*$/m, (line) => line.replace(apiDir, ""));
  writeFileSync(file, text);
}
console.log(`generated types for ${protos.join(", ")} into ${outDir}`);
