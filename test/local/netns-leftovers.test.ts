// The crash path: a `weft local --mode netns` killed with SIGKILL cannot clean
// up; the next netns-mode start finds its namespace by the dead owner's pid
// and removes it with the processes still inside.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { netnsUnavailable } from "../netns/lab.ts";
import { alive, netnsNames, poll, removeNamespacesOf, startCli, stopCli, type CliChild } from "./netns-harness.ts";

describe("network-namespace mode after a killed run", function () {
  this.timeout(240_000);
  const dirs: string[] = [];
  const children: CliChild[] = [];
  before(function () {
    const why = netnsUnavailable();
    if (why) {
      console.warn(`  skipped: ${why}`);
      this.skip();
    }
  });
  after(async () => {
    for (const c of children) await stopCli(c);
    removeNamespacesOf(children.map((c) => c.proc.pid ?? -1));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("removes the killed run's namespaces and stops its control plane on the next start", async () => {
    const start = (): CliChild => {
      const dir = mkdtempSync(join(tmpdir(), "weft-leftover-"));
      dirs.push(dir);
      const c = startCli("local", ["local", "--mode", "netns", "--state-dir", dir, "--identity-port", "0", "--discovery-port", "0", "--admin-port", "0"]);
      children.push(c);
      return c;
    };
    const first = start();
    await poll("the first weft local", () => (first.out.includes("local mode) up") ? true : undefined));
    const cpPid = (JSON.parse(readFileSync(join(dirs[0]!, "run", "control-plane.json"), "utf8")) as { pid: number }).pid;
    const hub = `weft-${first.proc.pid}-hub`;
    assert.ok(netnsNames().includes(hub));
    first.proc.kill("SIGKILL");
    await first.exited;
    assert.ok(netnsNames().includes(hub) && alive(cpPid), "a killed run leaves its namespace and control plane behind");

    const second = start();
    await poll("the second weft local", () => (second.out.includes("local mode) up") ? true : undefined));
    assert.match(second.out, new RegExp(`^removed namespaces left by a previous run that was killed: .*${hub}`, "m"));
    assert.ok(!netnsNames().includes(hub));
    await poll("the old control plane to end", () => (alive(cpPid) ? undefined : true), 10_000);
    assert.equal(await stopCli(second), 0, second.err);
    assert.deepEqual(netnsNames().filter((n) => n.startsWith(`weft-${second.proc.pid}-`)), []);
  });
});
