// `weft run` in loopback mode, as data: from the registry's model and the
// workload's identity, the sidecar's mappings. Inbound: every endpoint of this
// identity at 127.0.0.1 names, as its port, where the sidecar listens for
// mTLS from other sidecars; it hands those requests to the app's port.
// Outbound: each Service the app may call gets a loopback port on the sidecar
// bound to the Service's cluster IP and port. Endpoints are dialled at their
// registry address, so a workload added to the registry reaches every sidecar
// through discovery without restarting any.
import type { MeshModel } from "../../control-plane/src/mesh-state.ts";

export interface RunPlan {
  inboundApp: { listenPort: number; appPort: number }[];
  outbound: { service: string; portName: string; clusterIp: string; port: number; listenPort: number }[];
}

export function planRun(model: MeshModel, identity: string, appPort: number, loopbackPorts: () => number): RunPlan {
  const inbound = new Set<number>();
  const outbound: RunPlan["outbound"] = [];
  for (const svc of model.services.values()) {
    for (const ep of svc.endpoints) {
      if (ep.identity !== identity || (ep.address !== "127.0.0.1" && ep.address !== "::1")) continue;
      for (const p of Object.values(ep.ports ?? {})) inbound.add(p);
    }
    const ip = svc.clusterIps[0];
    if (!ip) continue;
    const own = svc.endpoints.length > 0 && svc.endpoints.every((e) => e.identity === identity);
    if (own) continue;
    for (const port of svc.ports) {
      outbound.push({ service: `${svc.namespace}/${svc.name}`, portName: port.name ?? "", clusterIp: ip, port: port.port ?? 0, listenPort: loopbackPorts() });
    }
  }
  return { inboundApp: [...inbound].sort((a, b) => a - b).map((listenPort) => ({ listenPort, appPort })), outbound };
}

export function planArgs(plan: RunPlan): string[] {
  const args: string[] = [];
  for (const i of plan.inboundApp) args.push("--inbound-app", `${i.listenPort}=${i.appPort}`);
  for (const o of plan.outbound) args.push("--outbound-bind", `${o.listenPort}=${o.clusterIp}:${o.port}`);
  return args;
}

/** WEFT_SERVICE_<NAME>[_<PORTNAME>]=127.0.0.1:<port>: where the app reaches each Service through its sidecar. */
export function planEnv(plan: RunPlan): Record<string, string> {
  const env: Record<string, string> = {};
  for (const o of plan.outbound) {
    const name = o.service.split("/")[1] ?? o.service;
    const key = `WEFT_SERVICE_${name}${o.portName ? `_${o.portName}` : ""}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
    env[key] = `127.0.0.1:${o.listenPort}`;
  }
  return env;
}

/**
 * `weft run` in network-namespace mode, as data: the workload's address on the
 * hub (asked for, else its registry endpoint not already in use, else a free
 * one that the registry does not name), the app ports other workloads reach it
 * on, and the Services it may call at their ClusterIPs. No port mappings:
 * capture keeps every original destination.
 */
export interface NetnsRunPlan {
  address: string;
  /** False when no registry endpoint of this identity has this address: nobody can call the workload. */
  registered: boolean;
  inboundPorts: number[];
  outbound: { service: string; portName: string; clusterIp: string; port: number }[];
}

export function planNetnsRun(model: MeshModel, identity: string, inUse: string[], isWorkloadAddress: (a: string) => boolean, freeAddress: (taken: string[]) => string | undefined, requested?: string): NetnsRunPlan | string {
  const own = new Map<string, Set<number>>();
  const named: string[] = [];
  for (const svc of model.services.values()) {
    for (const ep of svc.endpoints) {
      const at = ep.address ?? "";
      named.push(at);
      if (ep.identity !== identity || !isWorkloadAddress(at)) continue;
      const ports = own.get(at) ?? new Set<number>();
      for (const p of Object.values(ep.ports ?? {})) ports.add(p);
      own.set(at, ports);
    }
  }
  let address = requested;
  if (address !== undefined) {
    if (!isWorkloadAddress(address)) return `--address ${address} is not a workload address of the hub's subnet`;
    if (inUse.includes(address)) return `--address ${address} is already used by another workload`;
  } else {
    address = [...own.keys()].find((a) => !inUse.includes(a)) ?? freeAddress([...inUse, ...named]);
    if (address === undefined) return "no free workload address left on the hub";
  }
  const outbound = planRun(model, identity, 0, () => 0).outbound.map(({ listenPort: _unused, ...o }) => o);
  return { address, registered: own.has(address), inboundPorts: [...(own.get(address) ?? [])].sort((a, b) => a - b), outbound };
}
