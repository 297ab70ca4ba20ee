#!/usr/bin/env node
// `npm run images`: compiles the project, then writes Weft's container images as
// one OCI image layout (.cache/images/oci) and the same layout as a tar archive
// (.cache/images/weft-images.tar) that `ctr images import` reads. No Docker or
// registry is involved; push the layout with any OCI tool (skopeo, crane, oras).
// Flags: --skip-compile (use dist/ as it is), --out DIR, --tag T (default: package version).
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildImages, formatReport } from "./build-images.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    "skip-compile": { type: "boolean", default: false },
    out: { type: "string", default: join(root, ".cache", "images") },
    tag: { type: "string" },
  },
});
const tag = values.tag ?? (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
if (!values["skip-compile"]) execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" });

const out = resolve(values.out);
const layoutDir = join(out, "oci");
// A fresh layout each time: stale blobs from older builds must not linger in it.
rmSync(`${layoutDir}.tmp`, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const started = Date.now();
const result = buildImages({ root, layoutDir: `${layoutDir}.tmp`, tag, archive: join(out, "weft-images.tar") });
rmSync(layoutDir, { recursive: true, force: true });
renameSync(`${layoutDir}.tmp`, layoutDir);
writeFileSync(join(out, "images.json"), JSON.stringify(result, null, 2) + "\n");
console.log(formatReport(result));
console.log(`layout ${layoutDir}\narchive ${join(out, "weft-images.tar")} (${Math.round((Date.now() - started) / 1000)} s)`);
