import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startNode, type TestProcess } from "../support/process.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "cli/src/main.ts");

interface Summary {
  ok: boolean;
  load: { sent: number; ok: number; failed: number };
  edges: { from: string; to: string; requests: number; successes: number; retries: number; mtls: boolean; clientId: string; serverId: string }[];
  retries: number;
  pids: number[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function runDemo(args: string[], onOutput?: (out: string, demo: TestProcess) => void): Promise<{ code: number | null; out: string; err: string }> {
  const p = startNode("weft demo", [CLI, "demo", "--mode", "loopback", ...args], { onOutput: (c) => onOutput?.(c.stdout, c) });
  const code = await p.exited;
  return { code, out: p.stdout, err: p.stderr };
}

describe("weft demo (npm start) in loopback mode", function () {
  this.timeout(240_000);
  let stateDir: string;
  beforeEach(() => (stateDir = mkdtempSync(join(tmpdir(), "weft-demo-"))));
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it("carries traffic over mTLS, retries the injected failures, and leaves no processes or runtime files", async () => {
    const r = await runDemo(["--duration", "8s", "--json", "--state-dir", stateDir]);
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    const last = r.out.trim().split("\n").at(-1) ?? "";
    const { summary } = JSON.parse(last) as { summary: Summary };
    assert.ok(summary.load.sent > 20, `load sent ${summary.load.sent}`);
    assert.ok(summary.load.ok / summary.load.sent > 0.8, `success ${summary.load.ok}/${summary.load.sent}`);
    for (const to of ["catalog", "prices"]) {
      const edge = summary.edges.find((e) => e.to === to)!;
      assert.ok(edge.requests > 10, `${to} requests ${edge.requests}`);
      assert.equal(edge.mtls, true);
      assert.equal(edge.clientId, "spiffe://cluster.local/ns/demo/sa/frontend");
      assert.equal(edge.serverId, `spiffe://cluster.local/ns/demo/sa/${to}`);
    }
    assert.ok(summary.edges.find((e) => e.to === "catalog")!.retries > 0, "retries of the injected 503s are counted");
    assert.ok(summary.retries > 0);
    // Non-TTY output: one summary line per interval.
    assert.match(r.out, /^\[\d+s [^\]]+\] load [\d.]+ rps/m);
    assert.equal(summary.pids.length, 7);
    for (const pid of summary.pids) assert.equal(alive(pid), false, `pid ${pid} still running`);
    assert.equal(existsSync(join(stateDir, "run")), false, "runtime files removed");
    assert.ok(existsSync(join(stateDir, "ca", "ca.crt")) && existsSync(join(stateDir, "registry.yaml")), "state kept");
  });

  it("stops everything on SIGTERM while running", async () => {
    let sent = false;
    const r = await runDemo(["--state-dir", stateDir], (out, child) => {
      if (!sent && /^\[\d+s /m.test(out)) {
        sent = true;
        child.signal("SIGTERM");
      }
    });
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    assert.ok(sent, "the demo reached its traffic phase");
    assert.match(r.out, /all processes ended/);
    assert.equal(existsSync(join(stateDir, "run")), false);
  });

  it("explains bad flags in one line", async () => {
    const r = await runDemo(["--duration", "soon", "--state-dir", stateDir]);
    assert.equal(r.code, 1);
    assert.equal(r.err.trim().split("\n").length, 1);
    assert.match(r.err, /^weft demo: --duration: /);
  });
});
