// `weft run` in network-namespace mode: one workload namespace on the hub of
// `weft local` (see local-netns.ts), with capture rules, the sidecar as the
// proxy UID, a relay to its admin port, and the user's command started once
// the sidecar is ready, unmodified: it calls Services at their ClusterIPs.
import { DEFAULT_PROXY_PORTS } from "../../lib/proxy-contract.ts";
import type { MeshModel } from "../../control-plane/src/mesh-state.ts";
import { httpRequest } from "./local-http.ts";
import { addressesInUse, LocalNetns, namespaceExists, PROXY_UID, SidecarFiles, sweepStale } from "./local-netns.ts";
import { freeAddress, inNamespace, isWorkloadAddress } from "./local-netns-plan.ts";
import { LocalProcesses, projectModule, StopSignals, untilWorkloadEnds, type LocalChild } from "./local-processes.ts";
import { planNetnsRun } from "./local-run-plan.ts";
import type { LocalRuntime } from "./local-state.ts";

export interface NetnsRunOptions {
  runtime: LocalRuntime;
  model: MeshModel;
  identity: string;
  namespace: string;
  serviceAccount: string;
  why: string;
  address?: string;
  anchorsFile: string;
  token: string;
  registryPath: string;
  command: string[];
}

export class NetnsRunError extends Error {}

async function until(check: () => Promise<boolean>, dead: () => LocalChild | undefined, stopped: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (stopped()) throw new NetnsRunError("stopped");
    const d = dead();
    if (d) throw new NetnsRunError(`the ${d.name} exited: ${d.output().trim().split("\n").at(-1) ?? ""}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new NetnsRunError("timed out waiting for the sidecar to be ready");
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function runNetns(o: NetnsRunOptions): Promise<number> {
  const hubNs = o.runtime.hub ?? "";
  const swept = await sweepStale();
  if (swept.length > 0) console.log(`removed namespaces left by a previous run that was killed: ${swept.join(", ")}`);
  if (!namespaceExists(hubNs)) throw new NetnsRunError(`the hub namespace ${hubNs} of weft local is gone (was it killed?); restart \`weft local\``);
  const plan = planNetnsRun(o.model, o.identity, addressesInUse(), isWorkloadAddress, (taken) => freeAddress(taken), o.address);
  if (typeof plan === "string") throw new NetnsRunError(plan);

  const net = new LocalNetns();
  const files = new SidecarFiles();
  const children = new LocalProcesses();
  const signals = new StopSignals();
  try {
    const made = await net.addWorkload({ owner: o.runtime.pid, ns: hubNs, address: o.runtime.host }, o.serviceAccount, plan.address);
    if (!made.ok) throw new NetnsRunError(made.message);
    const ns = made.value.ns;
    console.log(`network-namespace mode (${o.why}): ${o.identity}`);
    console.log(`namespace ${ns} at ${plan.address} on the hub ${hubNs}; the command runs there unmodified, its TCP captured by iptables`);
    if (!plan.registered) console.log(`no endpoint of ${o.identity} at ${plan.address} in ${o.registryPath}: other workloads cannot call this one (add one with that address and the app's ports)`);
    for (const p of plan.inboundPorts) console.log(`inbound: ${plan.address}:${p} (mTLS, captured) -> app :${p}`);
    for (const s of plan.outbound) console.log(`reach ${s.service}${s.portName ? ` (${s.portName})` : ""} at ${s.clusterIp}:${s.port}`);
    const admin = files.socket("admin");
    children.startProgram("relay", inNamespace(ns, process.execPath, [projectModule("cli/src/local-netns-relay"), `${admin}=127.0.0.1:${DEFAULT_PROXY_PORTS.admin}`]));
    const sidecar = children.startProgram("sidecar", inNamespace(ns, process.execPath, [
      projectModule("sidecar/src/main"), "--control-plane", `${o.runtime.host}:${o.runtime.identityPort}`, "--identity-token-file", files.token("sidecar", o.token),
      "--trust-anchors", files.anchors(o.anchorsFile), "--workload", o.serviceAccount, "--log-level", "warn",
    ], PROXY_UID), { WEFT_POD_NAMESPACE: o.namespace, WEFT_SERVICE_ACCOUNT: o.serviceAccount, WEFT_DISCOVERY_ADDRESS: `${o.runtime.host}:${o.runtime.discoveryPort}` });
    console.log(`sidecar admin: curl --unix-socket ${admin} http://weft/metrics`);
    await until(async () => (await httpRequest({ socketPath: admin }, "/ready")).status === 200, () => children.firstExited(), () => signals.stopping, 120_000);
    console.log("sidecar ready; starting the command");
    const [cmd, ...rest] = o.command;
    const [ip, ...ipArgs] = inNamespace(ns, cmd!, rest);
    const app = children.startCommand("app", ip!, ipArgs);
    const code = await untilWorkloadEnds(sidecar, app, (stop) => signals.onStop(stop));
    return code;
  } finally {
    signals.dispose();
    await children.stopAll();
    await net.destroy();
    files.remove();
  }
}
