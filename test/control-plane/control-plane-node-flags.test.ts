import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { missingNodeEnv, missingNodeFlags } from "../../lib/node-flags.ts";
import { CONTROL_PLANE_NODE_ENV, CONTROL_PLANE_NODE_FLAGS, CONTROL_PLANE_NODE_SPEC, CONTROL_PLANE_REEXEC_ENV } from "../../control-plane/src/node-flags.ts";

describe("control plane Node flags", () => {
  it("adds the heap flags and allocator settings the operator did not set", () => {
    assert.deepEqual(missingNodeFlags(CONTROL_PLANE_NODE_SPEC, [], undefined, {}), [...CONTROL_PLANE_NODE_FLAGS]);
    assert.deepEqual(missingNodeFlags(CONTROL_PLANE_NODE_SPEC, [], "--max_semi_space_size=16", {}), ["--heap-growing-percent=20"]);
    assert.deepEqual(missingNodeFlags(CONTROL_PLANE_NODE_SPEC, [], "--max_semi_space_size=16 --heap-growing-percent=50", {}), []);
    assert.deepEqual(missingNodeEnv(CONTROL_PLANE_NODE_SPEC, {}), CONTROL_PLANE_NODE_ENV);
    assert.deepEqual(missingNodeEnv(CONTROL_PLANE_NODE_SPEC, { GLIBC_TUNABLES: "glibc.malloc.arena_max=1" }), {});
    assert.deepEqual(missingNodeEnv(CONTROL_PLANE_NODE_SPEC, { [CONTROL_PLANE_REEXEC_ENV]: "0" }), {});
  });

  it("weft-control-plane re-executes itself with them before it starts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-cp-flags-"));
    try {
      // Preloaded in the first process and again in the re-executed one (NODE_OPTIONS survives execve).
      const probe = join(dir, "probe.cjs");
      await writeFile(probe, `console.log(JSON.stringify({ execArgv: process.execArgv, tunables: process.env.GLIBC_TUNABLES ?? null }));\n`);
      const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--require ${probe}` };
      delete env[CONTROL_PLANE_REEXEC_ENV];
      delete env.GLIBC_TUNABLES;
      const main = fileURLToPath(new URL("../../control-plane/src/main.ts", import.meta.url));
      const r = spawnSync(process.execPath, [main, "--help"], { encoding: "utf8", env });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.split("\n").filter((l) => l.startsWith("{"));
      const last = JSON.parse(lines[lines.length - 1] ?? "{}") as { execArgv: string[]; tunables: string | null };
      for (const flag of CONTROL_PLANE_NODE_FLAGS) assert.ok(last.execArgv.includes(flag), `${flag} in ${last.execArgv.join(" ")}`);
      assert.equal(last.tunables, CONTROL_PLANE_NODE_ENV.GLIBC_TUNABLES);
      assert.match(r.stdout, /weft-control-plane|Usage|usage/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
