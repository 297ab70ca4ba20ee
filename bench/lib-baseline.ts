// The baseline a change is measured against: another revision of this
// repository, checked out beside it, so both run in the same benchmark on the
// same machine in the same hour (never against a remembered number).
import { spawnSync } from "node:child_process";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * A checkout of `rev` beside this one (git worktree, sharing this tree's
 * node_modules), so a change is measured against its baseline in the same
 * run, on the same machine, in interleaved rounds.
 */
export function baselineTree(rev: string, dir: string): { root: string; label: string; remove: () => void } {
  const git = (...args: string[]) => {
    const r = spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const commit = git("rev-parse", "--short", `${rev}^{commit}`);
  const root = join(dir, `baseline-${commit}`);
  git("worktree", "add", "--detach", root, commit);
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
  return { root, label: `${rev} (${commit})`, remove: () => { spawnSync("git", ["worktree", "remove", "--force", root], { cwd: ROOT }); } };
}
