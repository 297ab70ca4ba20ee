// Which Service an original destination belongs to. Built once per applied
// snapshot as a pure function, then looked up per connection.
import type { Service__Output } from "../../api/gen/weft/discovery/v1/Service.ts";
import type { ServicePort__Output } from "../../api/gen/weft/discovery/v1/ServicePort.ts";
import type { Endpoint__Output } from "../../api/gen/weft/discovery/v1/Endpoint.ts";

export type Route =
  /** A Service's ClusterIP and port: the proxy balances over its endpoints. */
  | { kind: "service"; service: Service__Output; port: ServicePort__Output }
  /** A pod IP and target port of a known endpoint: the proxy connects to that endpoint only. */
  | { kind: "endpoint"; service: Service__Output; port: ServicePort__Output; endpoint: Endpoint__Output }
  /** Unknown destination: plain TCP to the original address. */
  | { kind: "passthrough" };

export interface RouteIndex {
  readonly byAddress: ReadonlyMap<string, Route>;
}

/** IPv4-mapped IPv6 addresses (as sockets report them) name the same IPv4 host. */
export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith("::ffff:") && lower.includes(".") ? lower.slice(7) : lower;
}

function key(address: string, port: number): string {
  return `${normalizeAddress(address)}|${port}`;
}

export function buildRouteIndex(services: Iterable<Service__Output>): RouteIndex {
  const byAddress = new Map<string, Route>();
  for (const service of services) {
    for (const port of service.ports) {
      if (port.protocol && port.protocol.toUpperCase() !== "TCP") continue;
      if (!service.headless) {
        for (const ip of service.clusterIps) byAddress.set(key(ip, port.port), { kind: "service", service, port });
      }
      for (const endpoint of service.endpoints) {
        const target = endpoint.ports[port.name] ?? (service.ports.length === 1 ? Object.values(endpoint.ports)[0] : undefined);
        if (target === undefined) continue;
        const k = key(endpoint.address, target);
        // A ClusterIP never collides with a pod IP; the first Service naming a pod port wins.
        if (!byAddress.has(k)) byAddress.set(k, { kind: "endpoint", service, port, endpoint });
      }
    }
  }
  return { byAddress };
}

export function resolveRoute(index: RouteIndex, address: string, port: number): Route {
  return index.byAddress.get(key(address, port)) ?? { kind: "passthrough" };
}

/** The port on `endpoint` that serves `port` of its Service (named target ports resolve per endpoint). */
export function endpointPort(service: Service__Output, port: ServicePort__Output, endpoint: Endpoint__Output): number | undefined {
  return endpoint.ports[port.name] ?? (service.ports.length === 1 ? Object.values(endpoint.ports)[0] : undefined);
}

export function serviceKey(service: Pick<Service__Output, "namespace" | "name">): string {
  return `${service.namespace}/${service.name}`;
}
