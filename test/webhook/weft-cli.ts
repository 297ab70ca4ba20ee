// Runs the `weft` CLI as a user does (a separate Node process) for the CLI tests.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GOLDEN_DIR } from "./golden-cases.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export function weft(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [join(ROOT, "cli/src/main.ts"), ...args], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
    child.stdin?.end(input ?? "");
  });
}

export function caseConfigFile(name: string): string {
  const own = join(GOLDEN_DIR, `${name}.config.yaml`);
  return existsSync(own) ? own : join(GOLDEN_DIR, "config.yaml");
}

