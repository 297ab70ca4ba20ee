// test/support/process.ts on real child processes: output kept and awaited,
// exit codes, stopping with SIGTERM and, when ignored, SIGKILL.
import assert from "node:assert/strict";
import { Processes, startNode, startProcess } from "./process.ts";

describe("test support: child processes", function () {
  this.timeout(20_000);
  const processes = new Processes();
  after(() => {
    for (const p of processes.all) p.kill();
  });

  it("keeps stdout and stderr apart and interleaved, complete by the time it has exited", async () => {
    const p = processes.node("talker", ["-e", "process.stdout.write('out\\n'); process.stderr.write('err\\n'); process.exitCode = 3"]);
    assert.equal(await p.exited, 3);
    assert.equal(p.stdout, "out\n");
    assert.equal(p.stderr, "err\n");
    assert.match(p.output, /^(out\nerr\n|err\nout\n)$/);
    assert.equal(p.state, "exit 3");
  });

  it("resolves a wait for output when the line comes, with the pattern's groups", async () => {
    const p = processes.node("server", ["-e", "setTimeout(() => console.log('listening on 4242'), 50); setInterval(() => {}, 1000)"]);
    const [, port] = await p.waitForOutput(/listening on (\d+)/);
    assert.equal(port, "4242");
    assert.equal(await p.stop(), null, "SIGTERM ended it");
    assert.equal(p.state, "signal SIGTERM");
  });

  it("fails a wait for output when the process ends without printing it, with what it did print", async () => {
    const p = processes.node("quitter", ["-e", "console.error('bad flag'); process.exit(2)"]);
    await assert.rejects(p.waitForOutput(/listening/), /quitter ended \(exit 2\) without printing \/listening\/:\nbad flag/);
  });

  it("kills a process that ignores SIGTERM once the grace period is over", async () => {
    const p = processes.node("stubborn", ["-e", "process.on('SIGTERM', () => console.log('ignored')); console.log('up'); setInterval(() => {}, 1000)"]);
    await p.waitForOutput(/up/);
    p.signal("SIGTERM");
    await p.waitForOutput(/ignored/);
    assert.equal(await p.stop(200), null);
    assert.equal(p.state, "signal SIGKILL");
  });

  it("signals the whole group of a process started with one", async () => {
    // A shell whose child holds the output pipe: were only the shell signalled, the
    // pipe would stay open and stop() would wait out its grace, past this test's timeout.
    const p = startProcess("shell", "sh", ["-c", "sleep 600 & echo started; wait"], { group: true });
    processes.all.push(p);
    await p.waitForOutput(/started/);
    assert.equal(await p.stop(60_000), null);
    assert.equal(p.state, "signal SIGTERM");
  });

  it("reports a command that cannot start", async () => {
    const p = startNode("missing", ["/nonexistent/script.ts"]);
    processes.all.push(p);
    assert.equal(await p.exited, 1);
    const q = startProcess("no-such-binary", "/nonexistent/binary", []);
    assert.equal(await q.exited, null);
    assert.match(q.state, /^not started: .*ENOENT/);
  });
});
