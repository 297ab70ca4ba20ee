import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startNode } from "../support/process.ts";

const CLI = join(fileURLToPath(new URL("../../", import.meta.url)), "cli/src/main.ts");

async function runLocal(args: string[], onOut?: (out: string, stop: () => void) => void): Promise<{ code: number | null; out: string; err: string }> {
  const p = startNode("weft local", [CLI, "local", "--mode", "loopback", ...args], { onOutput: (c) => onOut?.(c.stdout, () => c.signal("SIGTERM")) });
  const code = await p.exited;
  return { code, out: p.stdout, err: p.stderr };
}

describe("weft local: the control plane in local mode from a state directory", function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "weft-localcmd-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const zeroPorts = ["--identity-port", "0", "--discovery-port", "0", "--admin-port", "0"];

  it("generates the CA and a starter registry on first start, serves, and stops on SIGTERM", async () => {
    let stopped = false;
    const r = await runLocal(["--state-dir", dir, ...zeroPorts], (out, stop) => {
      if (!stopped && out.includes("control plane (local mode) up")) {
        stopped = true;
        stop();
      }
    });
    assert.equal(r.code, 0, r.out + r.err);
    assert.ok(stopped, r.out);
    assert.ok(existsSync(join(dir, "ca", "ca.crt")) && existsSync(join(dir, "ca", "local-token.key")));
    assert.ok(existsSync(join(dir, "registry.yaml")));
  });

  it("explains a malformed registry file in one line", async () => {
    writeFileSync(join(dir, "registry.yaml"), "services:\n  - nmae: web\n");
    const r = await runLocal(["--state-dir", dir, ...zeroPorts]);
    assert.equal(r.code, 1);
    const lines = r.err.trim().split("\n").filter((l) => l.startsWith("weft local:"));
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0]!, /registry\.yaml:2:\d+: services\[0\]\.nmae: unknown field .* fix the file/);
  });

  it("explains a port in use in one line", async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const r = await runLocal(["--state-dir", dir, "--identity-port", String(port), "--discovery-port", "0", "--admin-port", "0"]);
      assert.equal(r.code, 1);
      assert.match(r.err, new RegExp(`^weft local: port ${port} is in use .*--identity-port$`, "m"));
    } finally {
      holder.close();
    }
  });
});
