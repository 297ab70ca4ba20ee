// Small builders shared by the discovery tests: mesh models and endpoints
// without the noise of every field.
import type { Endpoint } from "../../api/gen/weft/discovery/v1/Endpoint.ts";
import type { MeshModel, NamespaceModel, ServiceModel } from "../../control-plane/src/mesh-state.ts";
import { emptyInbound, serviceKey } from "../../control-plane/src/mesh-state.ts";

export function endpoint(address: string, overrides: Partial<Endpoint> = {}): Endpoint {
  return { address, ports: { http: 8080 }, zone: "z1", node: "n1", pod: "", ready: true, serving: true, terminating: false, meshed: false, identity: "", ...overrides };
}

export function meshedEndpoint(address: string, ns: string, sa: string, overrides: Partial<Endpoint> = {}): Endpoint {
  return endpoint(address, { meshed: true, identity: `spiffe://cluster.local/ns/${ns}/sa/${sa}`, ...overrides });
}

export function service(namespace: string, name: string, endpoints: Endpoint[], overrides: Partial<ServiceModel> = {}): ServiceModel {
  return {
    namespace,
    name,
    clusterIps: ["10.96.0.10"],
    headless: false,
    ports: [{ name: "http", port: 80, protocol: "TCP", appProtocol: "http" }],
    endpoints,
    clientPolicy: null,
    ...overrides,
  };
}

export function namespace(name: string, meshEnabled: boolean, overrides: Partial<NamespaceModel> = {}): NamespaceModel {
  return { name, meshEnabled, inbound: emptyInbound(), ...overrides };
}

export function mesh(services: ServiceModel[], namespaces: NamespaceModel[] = []): MeshModel {
  return {
    services: new Map(services.map((s) => [serviceKey(s.namespace, s.name), s])),
    namespaces: new Map(namespaces.map((n) => [n.name, n])),
  };
}
