// Where the cached Jaeger v2 build lives (shared by the set-up step that builds
// it and the test helper that runs it).
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const JAEGER_VERSION = "v1.76.0";

export const BUILD_SCRIPT = fileURLToPath(new URL("./build-jaeger.sh", import.meta.url));

export function jaegerDir(env: NodeJS.ProcessEnv = process.env): string {
  const cacheRoot = env["WEFT_CACHE_DIR"] ?? join(homedir(), ".cache", "weft");
  return join(cacheRoot, "jaeger", JAEGER_VERSION);
}

export function jaegerBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(jaegerDir(env), "bin", "jaeger");
}

export function jaegerBinaryReady(env: NodeJS.ProcessEnv = process.env): boolean {
  return existsSync(jaegerBinaryPath(env)) && existsSync(join(jaegerDir(env), ".built"));
}
