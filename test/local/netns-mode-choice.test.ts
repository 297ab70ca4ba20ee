// Choosing between network-namespace and loopback mode, and the names and
// commands of the namespaces, as data; and the one-line refusal of a forced
// network-namespace mode without root.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fail, ok } from "../../lib/result.ts";
import { chooseMode, chooseRunMode, parseModeFlag } from "../../cli/src/local-mode.ts";
import { freeAddress, hubCommands, hubPlan, isWorkloadAddress, namespaceName, staleNamespaces, workloadCommands, workloadNetPlan } from "../../cli/src/local-netns-plan.ts";
import { CLI } from "./netns-harness.ts";

describe("local mode: which mode and why", () => {
  it("auto picks netns when the probe passes and says why loopback otherwise", () => {
    assert.deepEqual(chooseMode("auto", ok(undefined)), ok({ mode: "netns", why: "running as root and `ip netns` works" }));
    assert.deepEqual(chooseMode("auto", fail("not-root", "not running as root, so no network namespaces or iptables")), ok({ mode: "loopback", why: "not running as root, so no network namespaces or iptables" }));
    assert.deepEqual(chooseMode("loopback", ok(undefined)), ok({ mode: "loopback", why: "--mode loopback" }));
    const forced = chooseMode("netns", fail("not-root", "x"));
    assert.equal(forced.ok, false);
    assert.match(forced.ok ? "" : forced.message, /needs root .* sudo, or use --mode loopback/);
    assert.equal(parseModeFlag("bridge").ok, false);
  });

  it("weft run follows weft local's mode and refuses a mismatch with what to do", () => {
    assert.deepEqual(chooseRunMode("auto", "loopback", () => fail("x", "y")), ok({ mode: "loopback", why: "weft local runs its control plane on loopback" }));
    assert.deepEqual(chooseRunMode("auto", "netns", () => ok(undefined)), ok({ mode: "netns", why: "weft local runs in network-namespace mode" }));
    const mismatch = chooseRunMode("loopback", "netns", () => ok(undefined));
    assert.match(mismatch.ok ? "" : mismatch.message, /weft local runs in network-namespace mode; restart it with `weft local --mode loopback`/);
  });
});

describe("local mode: the namespace topology as data", () => {
  it("names every namespace for its owner so a killed run's leftovers can be found", () => {
    assert.equal(namespaceName(42, "Web_App"), "weft-42-web-app");
    const list = "weft-1-hub (id: 0)\nweft-2-web\nweft-t-3-0-cli\ncni-abc\n";
    assert.deepEqual(staleNamespaces(list, (pid) => pid === 2), ["weft-1-hub"]);
  });

  it("adds nothing to the root namespace: every command names a namespace", () => {
    const hub = hubPlan(7);
    const w = workloadNetPlan(7, "web", "10.203.0.10", 0);
    for (const argv of [...hubCommands(hub), ...workloadCommands(hub, w)]) {
      const s = argv.join(" ");
      assert.ok(/^ip (netns (add|exec) weft-7-|-n weft-7-)/.test(s) || /netns weft-7-web .*netns weft-7-hub$/.test(s), s);
    }
    assert.ok(w.hubIf.length <= 15);
  });

  it("hands out workload addresses inside the hub's subnet only", () => {
    assert.equal(isWorkloadAddress("10.203.0.20"), true);
    assert.equal(isWorkloadAddress("10.203.0.1"), false);
    assert.equal(isWorkloadAddress("127.0.0.1"), false);
    assert.equal(freeAddress(["10.203.0.100"]), "10.203.0.101");
  });
});

describe("forcing network-namespace mode without root", function () {
  this.timeout(60_000);
  let dir = "";
  before(function () {
    if (process.getuid?.() !== 0) this.skip();
    dir = mkdtempSync(join(tmpdir(), "weft-nonroot-"));
    chmodSync(dir, 0o777);
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  for (const args of [
    ["run", "--mode", "netns", "--name", "web", "--state-dir", "STATE", "--", "true"],
    ["demo", "--mode", "netns", "--state-dir", "STATE"],
    ["local", "--mode", "netns", "--state-dir", "STATE"],
  ]) {
    it(`weft ${args[0]} explains in one line what to do`, () => {
      const r = spawnSync("setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", process.execPath, CLI, ...args.map((a) => (a === "STATE" ? join(dir, "state") : a))], { encoding: "utf8", cwd: dir, timeout: 50_000 });
      assert.notEqual(r.status, 0);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, new RegExp(`^weft ${args[0]}: network-namespace mode needs root \\(ip netns, iptables\\): run it with sudo, or use --mode loopback$`));
    });
  }
});
