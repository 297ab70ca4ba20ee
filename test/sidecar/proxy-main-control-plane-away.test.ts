// A proxy started while the control plane is unreachable (stopped for maintenance, every
// replica restarting) waits for it, retrying with backoff, instead of exiting: the pod then
// starts as soon as the control plane is back, without a container restart loop.
import { strict as assert } from "node:assert";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PROXY_ENV } from "../../lib/proxy-contract.ts";
import { freePorts } from "../support/ports.ts";
import { Processes } from "../support/process.ts";
import { testPki } from "./mesh-harness.ts";

describe("weft-proxy main.ts with the control plane away", function () {
  this.timeout(60_000);
  let dir: string;
  const processes = new Processes();

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "weft-proxy-away-"));
  });
  after(async () => {
    for (const p of processes.all) p.kill();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") console.error(processes.report());
  });

  it("keeps retrying for its first certificate while nothing answers at the control plane's address, and stops on SIGTERM", async () => {
    const pki = await testPki();
    await writeFile(path.join(dir, "anchors.pem"), pki.mesh.anchorPem);
    await writeFile(path.join(dir, "token"), "a-token");
    // Nothing listens on this port: every attempt is refused.
    const [absent, admin] = (await freePorts(2)) as [number, number];
    const proxy = processes.node("proxy", [
      "sidecar/src/main.ts", "--control-plane", `127.0.0.1:${absent}`, "--trust-anchors", path.join(dir, "anchors.pem"),
      "--identity-token-file", path.join(dir, "token"), "--listen-host", "127.0.0.1", "--inbound-port", "0", "--outbound-port", "0",
      "--admin-port", String(admin), "--log-level", "warn",
    ], { env: { [PROXY_ENV.podNamespace]: "default", [PROXY_ENV.serviceAccount]: "client", [PROXY_ENV.controlPlaneAddress]: undefined } });
    // The third failed attempt is logged only by a process that outlived the first two.
    await proxy.waitForOutput(/"attempt":3/, { timeoutMs: 30_000 });
    assert.equal(proxy.running, true);
    const code = await proxy.stop(10_000);
    assert.ok(code === 0 || code === null, `exit code ${String(code)}`);
  });
});
