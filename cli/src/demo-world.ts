// Where the demo's processes run: the seam between the demo's flow (cmd-demo.ts)
// and its two modes. Loopback: every process in this namespace on its own
// loopback ports. Network namespaces: demo-world-netns.ts.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEMO_NAMESPACE, appArgs, loopbackEndpoints, proxyArgs, registryYaml, type DemoWorkload, type WorkloadPorts } from "./demo-topology.ts";
import type { HttpTarget } from "./local-http.ts";
import type { LocalMode } from "./local-mode.ts";
import { freePorts } from "../../lib/free-ports.ts";
import { projectModule, type LocalProcesses } from "./local-processes.ts";

export interface ControlPlaneAt { identityPort: number; discoveryPort: number }

export interface DemoWorld {
  mode: LocalMode;
  /** Lines telling the user how this mode wires the demo. */
  intro: string[];
  registryYaml: string;
  /** The control plane's listen host (where sidecars reach it). */
  controlPlaneHost: string;
  startControlPlane(children: LocalProcesses, args: string[], onLine: (line: string) => void): void;
  startWorkload(children: LocalProcesses, w: DemoWorkload, cp: ControlPlaneAt, token: string): void;
  admin(name: string): HttpTarget;
  app(name: string): HttpTarget;
  /** Removes whatever the world created (after its processes are stopped). */
  close(): Promise<void>;
  /** For the JSON summary. */
  details(): Record<string, unknown>;
}

export interface WorldOptions {
  workloads: DemoWorkload[];
  runDir: string;
  anchors: string;
  why: string;
}

export async function loopbackWorld(o: WorldOptions): Promise<DemoWorld> {
  const ports: Record<string, WorkloadPorts> = {};
  // All at once: ports picked one by one can repeat, and two processes would race for one.
  const free = await freePorts(o.workloads.reduce((n, w) => n + 3 + w.calls.length, 0));
  const next = (): number => free.pop()!;
  for (const w of o.workloads) {
    const outbound: Record<string, number> = {};
    for (const c of w.calls) outbound[c] = next();
    ports[w.name] = { app: next(), inbound: next(), admin: next(), outbound };
  }
  return {
    mode: "loopback",
    intro: [`loopback mode (${o.why}): each app listens on its own 127.0.0.1 port and reaches the others through its sidecar's outbound ports`],
    registryYaml: registryYaml(o.workloads, loopbackEndpoints(ports)),
    controlPlaneHost: "127.0.0.1",
    startControlPlane(children, args, onLine) {
      children.start("control plane", args, {}, onLine);
    },
    startWorkload(children, w, cp, token) {
      const tokenFile = join(o.runDir, `${w.name}.token`);
      writeFileSync(tokenFile, token, { mode: 0o600 });
      children.start(`${w.name} app`, [projectModule(`cli/src/demo-apps/${w.app}`), ...appArgs(w, ports)]);
      children.start(`${w.name} sidecar`, [
        projectModule("sidecar/src/main"), "--control-plane", `127.0.0.1:${cp.identityPort}`, "--identity-token-file", tokenFile,
        "--trust-anchors", o.anchors, "--log-level", "warn", ...proxyArgs(w, o.workloads, ports),
      ], { WEFT_POD_NAMESPACE: DEMO_NAMESPACE, WEFT_SERVICE_ACCOUNT: w.name, WEFT_DISCOVERY_ADDRESS: `127.0.0.1:${cp.discoveryPort}` });
    },
    admin: (name) => ({ host: "127.0.0.1", port: ports[name]!.admin }),
    app: (name) => ({ host: "127.0.0.1", port: ports[name]!.app }),
    close: async () => undefined,
    details: () => ({}),
  };
}
