// The demo's mesh, as data: three workloads, the registry file describing
// them, and per mode the apps' and sidecars' arguments. Loopback mode: each
// workload's loopback ports and the sidecar's local-mode mappings (outbound
// binds to the services it calls, inbound to its app, where each endpoint's
// proxy listens). Network-namespace mode: each workload has its own address
// and the app's own port; apps dial ClusterIPs and capture does the rest.
// Pure: ports and addresses in, YAML and argv out.
import { stringify } from "yaml";

export const DEMO_NAMESPACE = "demo";

export interface DemoWorkload {
  name: string;
  app: string;
  clusterIp: string;
  endpointIp: string;
  port: number;
  portName: string;
  appProtocol: "http" | "grpc";
  calls: string[];
}

export const DEMO_WORKLOADS: DemoWorkload[] = [
  { name: "frontend", app: "frontend", clusterIp: "10.96.0.10", endpointIp: "10.0.0.10", port: 80, portName: "http", appProtocol: "http", calls: ["catalog", "prices"] },
  { name: "catalog", app: "catalog", clusterIp: "10.96.0.11", endpointIp: "10.0.0.11", port: 80, portName: "http", appProtocol: "http", calls: [] },
  { name: "prices", app: "prices", clusterIp: "10.96.0.12", endpointIp: "10.0.0.12", port: 50051, portName: "grpc", appProtocol: "grpc", calls: [] },
];

/** Network-namespace mode: every app listens on this port in its own namespace (gRPC keeps its Service port). */
export function netnsAppPort(w: DemoWorkload): number {
  return w.appProtocol === "grpc" ? w.port : 8080;
}

/** Where a workload's endpoint is: its address and the app's port. */
export type EndpointOf = (w: DemoWorkload) => { address: string; port: number };

export interface WorkloadPorts {
  app: number;
  inbound: number;
  admin: number;
  /** Per called service: the loopback port its outbound bind listens on. */
  outbound: Record<string, number>;
}

export function loopbackEndpoints(ports: Record<string, WorkloadPorts>): EndpointOf {
  return (w) => ({ address: w.endpointIp, port: ports[w.name]!.app });
}

export function registryYaml(workloads: DemoWorkload[], endpointOf: EndpointOf): string {
  return stringify({
    defaults: {
      retry: { enabled: true, maxRetries: 3, httpStatuses: [502, 503, 504], grpcStatuses: ["UNAVAILABLE"], budgetRatio: 0.5, budgetMinPerSecond: 20 },
    },
    services: workloads.map((w) => ({
      namespace: DEMO_NAMESPACE,
      name: w.name,
      clusterIps: [w.clusterIp],
      ports: [{ name: w.portName, port: w.port, appProtocol: w.appProtocol }],
      endpoints: [{ address: endpointOf(w).address, ports: { [w.portName]: endpointOf(w).port }, meshed: true, serviceAccount: w.name, pod: `${DEMO_NAMESPACE}/${w.name}-0` }],
    })),
  });
}

export function proxyArgs(w: DemoWorkload, workloads: DemoWorkload[], ports: Record<string, WorkloadPorts>): string[] {
  const own = ports[w.name]!;
  const args = ["--workload", `${w.name}-0`, "--listen-host", "127.0.0.1", "--inbound-port", "0", "--outbound-port", "0", "--admin-port", String(own.admin)];
  args.push("--inbound-app", `${own.inbound}=${own.app}`);
  for (const callee of w.calls) {
    const target = workloads.find((x) => x.name === callee)!;
    args.push("--outbound-bind", `${own.outbound[callee]}=${target.clusterIp}:${target.port}`);
  }
  for (const other of workloads) {
    if (other.name === w.name) continue;
    args.push("--endpoint-dial", `${other.endpointIp}:${ports[other.name]!.app}=127.0.0.1:${ports[other.name]!.inbound}`);
  }
  return args;
}

export function appArgs(w: DemoWorkload, ports: Record<string, WorkloadPorts>): string[] {
  const own = ports[w.name]!;
  const args = ["--port", String(own.app)];
  for (const callee of w.calls) args.push(`--${callee}`, `127.0.0.1:${own.outbound[callee]}`);
  return args;
}

/** Network-namespace mode: the app's own port, and the Services it calls at their ClusterIPs. */
export function netnsAppArgs(w: DemoWorkload, workloads: DemoWorkload[]): string[] {
  const args = ["--port", String(netnsAppPort(w))];
  for (const callee of w.calls) {
    const target = workloads.find((x) => x.name === callee)!;
    args.push(`--${callee}`, `${target.clusterIp}:${target.port}`);
  }
  return args;
}
