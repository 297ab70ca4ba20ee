// The production dependency set, read from package-lock.json: every installed
// package the lockfile does not mark dev-only. Copying those folders from the
// existing node_modules needs no network and gives the same files `npm ci
// --omit=dev` would, because both come from the same lockfile.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface LockPackage {
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
}

/** Lockfile keys ("node_modules/a", "node_modules/a/node_modules/b") of installed production packages, sorted. */
export function productionPackages(root: string): string[] {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, LockPackage> };
  return Object.entries(lock.packages)
    .filter(([key, meta]) => key.startsWith("node_modules/") && meta.dev !== true && meta.devOptional !== true)
    // Optional packages for other platforms (koffi's prebuilt binaries) are simply not installed.
    .filter(([key]) => existsSync(join(root, key)))
    .map(([key]) => key)
    .sort();
}

/** Inside a package folder: what a running process never reads. Nested node_modules are packages of their own. */
export function skipInPackage(relative: string): boolean {
  const name = relative.split("/").pop() ?? "";
  return relative === "node_modules" || relative.startsWith("node_modules/") || name.endsWith(".md") || name.endsWith(".d.ts") || name.endsWith(".map");
}
