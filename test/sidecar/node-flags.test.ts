import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PROXY_NODE_FLAGS, REEXEC_ENV, missingNodeFlags } from "../../sidecar/src/node-flags.ts";

describe("the proxy's own V8 heap flags", function () {
  this.timeout(30_000);

  it("adds every proxy flag the process was started without", () => {
    assert.deepEqual(missingNodeFlags([], undefined, {}), [...PROXY_NODE_FLAGS]);
  });

  it("leaves a flag the operator set on the command line or in NODE_OPTIONS alone", () => {
    assert.deepEqual(missingNodeFlags(["--max-semi-space-size=16"], "--max_old_space_size=512 --single-threaded-gc", {}), []);
    assert.deepEqual(missingNodeFlags(["--max-semi-space-size=16", "--single-threaded-gc"], undefined, {}), ["--max-old-space-size=64"]);
  });

  it("takes --no-single-threaded-gc as the operator's choice, not as a flag still missing", () => {
    assert.deepEqual(missingNodeFlags([], "--no-single-threaded-gc", {}), ["--max-semi-space-size=2", "--max-old-space-size=64"]);
  });

  it("re-executes nothing when turned off", () => {
    assert.deepEqual(missingNodeFlags([], undefined, { [REEXEC_ENV]: "0" }), []);
  });

  it("main's first import re-executes the same process with the flags", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-node-flags-"));
    try {
      const script = join(dir, "entry.mjs");
      const flags = pathToFileURL(fileURLToPath(new URL("../../sidecar/src/main-flags.ts", import.meta.url))).href;
      await writeFile(script, `import ${JSON.stringify(flags)};\nconsole.log(JSON.stringify({ execArgv: process.execArgv, argv: process.argv.slice(2) }));\n`);
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env[REEXEC_ENV];
      delete env.NODE_OPTIONS;
      const r = spawnSync(process.execPath, [script, "--some-proxy-flag", "x"], { encoding: "utf8", env });
      assert.equal(r.status, 0, r.stderr);
      const seen = JSON.parse(r.stdout.trim()) as { execArgv: string[]; argv: string[] };
      for (const flag of PROXY_NODE_FLAGS) assert.ok(seen.execArgv.includes(flag), `${flag} in ${seen.execArgv.join(" ")}`);
      assert.deepEqual(seen.argv, ["--some-proxy-flag", "x"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
