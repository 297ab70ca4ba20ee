// What the tests that run the real control plane and proxies as processes in
// local mode share: where the entry points are, and the two start-up facts they
// wait for (the control plane's ports, a proxy's readiness).
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProcess } from "../support/process.ts";
import { StopWaiting, waitFor } from "../support/wait.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CP = join(ROOT, "control-plane/src/main.ts");
export const CLI = join(ROOT, "cli/src/main.ts");
export const PROXY = join(ROOT, "sidecar/src/main.ts");
export const TD = "example.org";

/** Start-up of a Node process on a loaded 2-core machine: generous, and spent only when something is wrong. */
export const STARTUP_MS = 60_000;

export interface ControlPlanePorts {
  identityPort: number;
  discoveryPort: number;
  adminPort: number;
}

/** The ports a control plane started with port 0 bound, from its "control plane started" log line. */
export async function controlPlaneStarted(cp: TestProcess): Promise<ControlPlanePorts> {
  // The whole line, newline included: a chunk may end mid-line.
  const [line] = await cp.waitForOutput(/^.*"control plane started".*\n/m, { timeoutMs: STARTUP_MS });
  return JSON.parse(line) as ControlPlanePorts;
}

/** Resolves once the proxy answers /ready with 200 on its admin port; fails at once if it exits. */
export async function proxyReady(proxy: TestProcess, adminPort: number): Promise<void> {
  await waitFor(`${proxy.name} to answer /ready with 200 on admin port ${adminPort}`, async () => {
    if (!proxy.running) throw new StopWaiting(`${proxy.name} ended (${proxy.state}):\n${proxy.tail()}`);
    return (await fetch(`http://127.0.0.1:${adminPort}/ready`)).status === 200;
  }, { timeoutMs: STARTUP_MS, intervalMs: 200 });
}
