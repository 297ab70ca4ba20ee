// Which Service an original destination belongs to. Kept up to date per
// applied snapshot (only the Services that changed), looked up per connection.
import type { Service__Output } from "../../../api/gen/weft/discovery/v1/Service.ts";
import type { ServicePort__Output } from "../../../api/gen/weft/discovery/v1/ServicePort.ts";
import type { Endpoint__Output } from "../../../api/gen/weft/discovery/v1/Endpoint.ts";

export type Route =
  /** A Service's ClusterIP and port: the proxy balances over its endpoints. */
  | { kind: "service"; service: Service__Output; port: ServicePort__Output }
  /** A pod IP and target port of a known endpoint: the proxy connects to that endpoint only. */
  | { kind: "endpoint"; service: Service__Output; port: ServicePort__Output; endpoint: Endpoint__Output }
  /** Unknown destination: plain TCP to the original address. */
  | { kind: "passthrough" };

/** IPv4-mapped IPv6 addresses (as sockets report them) name the same IPv4 host. */
export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith("::ffff:") && lower.includes(".") ? lower.slice(7) : lower;
}

function key(address: string, port: number): string {
  return `${normalizeAddress(address)}|${port}`;
}

type Claim = Exclude<Route, { kind: "passthrough" }>;

/**
 * Routes by "address|port". Services are added and removed one at a time, so a
 * snapshot that changed one Service costs that Service's routes, not the mesh's.
 */
export class RouteIndex {
  /** The route each key resolves to. */
  readonly #byAddress = new Map<string, Claim>();
  /** Every claim on a key that more than one route claims, in the order they were added. */
  readonly #contested = new Map<string, Claim[]>();

  get size(): number {
    return this.#byAddress.size;
  }

  get(key: string): Claim | undefined {
    return this.#byAddress.get(key);
  }

  add(service: Service__Output): void {
    for (const [k, route] of routesOf(service)) {
      const current = this.#byAddress.get(k);
      if (!current) {
        this.#byAddress.set(k, route);
        continue;
      }
      let claims = this.#contested.get(k);
      if (!claims) this.#contested.set(k, (claims = [current]));
      claims.push(route);
      this.#byAddress.set(k, winner(claims));
    }
  }

  /** Removes the routes of `service` (the same object that was added). */
  remove(service: Service__Output): void {
    for (const [k] of routesOf(service)) {
      const claims = this.#contested.get(k);
      if (!claims) {
        if (this.#byAddress.get(k)?.service === service) this.#byAddress.delete(k);
        continue;
      }
      const left = claims.filter((r) => r.service !== service);
      if (left.length <= 1) this.#contested.delete(k);
      else this.#contested.set(k, left);
      if (left.length === 0) this.#byAddress.delete(k);
      else this.#byAddress.set(k, winner(left));
    }
  }
}

/**
 * Which claim on one key wins. A ClusterIP never collides with a pod IP; if it did, the Service
 * route wins (the last one added), and among pod ports the first Service that named it.
 */
function winner(claims: readonly Claim[]): Claim {
  for (let i = claims.length - 1; i >= 0; i--) if (claims[i]?.kind === "service") return claims[i] as Claim;
  return claims[0] as Claim;
}

function* routesOf(service: Service__Output): Generator<[string, Claim]> {
  for (const port of service.ports) {
    if (port.protocol && port.protocol.toUpperCase() !== "TCP") continue;
    if (!service.headless) {
      for (const ip of service.clusterIps) yield [key(ip, port.port), { kind: "service", service, port }];
    }
    for (const endpoint of service.endpoints) {
      const target = endpointPort(service, port, endpoint);
      if (target !== undefined) yield [key(endpoint.address, target), { kind: "endpoint", service, port, endpoint }];
    }
  }
}

export function buildRouteIndex(services: Iterable<Service__Output>): RouteIndex {
  const index = new RouteIndex();
  for (const service of services) index.add(service);
  return index;
}

const PASSTHROUGH: Route = { kind: "passthrough" };

export function resolveRoute(index: RouteIndex, address: string, port: number): Route {
  return index.get(key(address, port)) ?? PASSTHROUGH;
}

/** The port on `endpoint` that serves `port` of its Service (named target ports resolve per endpoint). */
export function endpointPort(service: Service__Output, port: ServicePort__Output, endpoint: Endpoint__Output): number | undefined {
  return endpoint.ports[port.name] ?? (service.ports.length === 1 ? Object.values(endpoint.ports)[0] : undefined);
}

export function serviceKey(service: Pick<Service__Output, "namespace" | "name">): string {
  return `${service.namespace}/${service.name}`;
}
