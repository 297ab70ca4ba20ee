// The test-support helpers themselves: what a wait returns, how it fails, and
// that free ports are distinct and free. (Short timeouts here are the point:
// these tests are about what happens when time runs out.)
import assert from "node:assert/strict";
import * as net from "node:net";
import { accepting, freePorts, waitForPort } from "./ports.ts";
import { StopWaiting, waitFor } from "./wait.ts";

describe("test support: waitFor", () => {
  it("returns the check's first truthy value, after falsy answers and thrown errors", async () => {
    const answers: (() => string | undefined)[] = [() => undefined, () => { throw new Error("not listening"); }, () => "", () => "ready"];
    let calls = 0;
    const value = await waitFor("the fourth answer", () => answers[calls++]!(), { intervalMs: 1 });
    assert.equal(value, "ready");
    assert.equal(calls, 4);
  });

  it("names the condition and the time it waited when it times out", async () => {
    await assert.rejects(waitFor("the proxy's /ready to answer 200", () => false, { timeoutMs: 30, intervalMs: 5 }), {
      message: "timed out after 30 ms waiting for: the proxy's /ready to answer 200",
    });
  });

  it("reports the last error the check threw, as the message and as the cause", async () => {
    let n = 0;
    const failure = await waitFor("a connection", () => {
      throw new Error(`ECONNREFUSED #${++n}`);
    }, { timeoutMs: 30, intervalMs: 5 }).then(() => undefined, (err: unknown) => err as Error);
    assert.ok(failure);
    assert.match(failure.message, new RegExp(`^timed out after 30 ms waiting for: a connection; the check last threw: Error: ECONNREFUSED #${n}$`));
    assert.equal((failure.cause as Error).message, `ECONNREFUSED #${n}`);
  });

  it("gives up at once when the check throws StopWaiting", async () => {
    let calls = 0;
    await assert.rejects(waitFor("the control plane's ports", () => {
      calls++;
      throw new StopWaiting("control-plane exited (exit 1)");
    }, { timeoutMs: 60_000 }), { message: "gave up waiting for: the control plane's ports: control-plane exited (exit 1)" });
    assert.equal(calls, 1);
  });

  it("fails instead of hanging when a check never settles", async () => {
    await assert.rejects(waitFor("an answer", () => new Promise<boolean>(() => undefined), { timeoutMs: 20 }), {
      message: "timed out after 20 ms waiting for: an answer; the last check was still pending",
    });
  });
});

describe("test support: ports", () => {
  it("hands out distinct ports that nothing listens on", async () => {
    const ports = await freePorts(20);
    assert.equal(new Set(ports).size, 20);
    for (const port of ports) assert.equal(await accepting(port), false, `port ${port}`);
  });

  it("waits until a port accepts connections", async () => {
    const [port] = (await freePorts(1)) as [number];
    const server = net.createServer((s) => s.destroy());
    const waiting = waitForPort(port, { intervalMs: 5 });
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    try {
      await waiting;
      assert.equal(await accepting(port), true);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
