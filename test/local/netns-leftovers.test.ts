// The crash path: a `weft local --mode netns` killed with SIGKILL cannot clean
// up; the next netns-mode start finds its namespace by the dead owner's pid
// and removes it with the processes still inside.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { skipWithoutNetns } from "../netns/lab.ts";
import type { TestProcess } from "../support/process.ts";
import { waitFor } from "../support/wait.ts";
import { NETNS_STARTUP, STOP_GRACE_MS, alive, netnsNames, removeNamespacesOf, startCli } from "./netns-harness.ts";

describe("network-namespace mode after a killed run", function () {
  this.timeout(240_000);
  const dirs: string[] = [];
  const children: TestProcess[] = [];
  before(function () {
    skipWithoutNetns(this, { sweep: false });
  });
  after(async () => {
    for (const c of children) await c.stop(STOP_GRACE_MS);
    removeNamespacesOf(children.map((c) => c.pid ?? -1));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("removes the killed run's namespaces and stops its control plane on the next start", async () => {
    const start = (): TestProcess => {
      const dir = mkdtempSync(join(tmpdir(), "weft-leftover-"));
      dirs.push(dir);
      const c = startCli("local", ["local", "--mode", "netns", "--state-dir", dir, "--identity-port", "0", "--discovery-port", "0", "--admin-port", "0"]);
      children.push(c);
      return c;
    };
    const first = start();
    await first.waitForOutput(/local mode\) up/, NETNS_STARTUP);
    const cpPid = (JSON.parse(readFileSync(join(dirs[0]!, "run", "control-plane.json"), "utf8")) as { pid: number }).pid;
    const hub = `weft-${first.pid}-hub`;
    assert.ok(netnsNames().includes(hub));
    first.kill();
    await first.exited;
    assert.ok(netnsNames().includes(hub) && alive(cpPid), "a killed run leaves its namespace and control plane behind");

    const second = start();
    await second.waitForOutput(/local mode\) up/, NETNS_STARTUP);
    assert.match(second.stdout, new RegExp(`^removed namespaces left by a previous run that was killed: .*${hub}`, "m"));
    assert.ok(!netnsNames().includes(hub));
    await waitFor("the old control plane to end", () => !alive(cpPid), { timeoutMs: 10_000, intervalMs: 250 });
    assert.equal(await second.stop(STOP_GRACE_MS), 0, second.stderr);
    assert.deepEqual(netnsNames().filter((n) => n.startsWith(`weft-${second.pid}-`)), []);
  });
});
