// The mesh the discovery benchmark serves: Services spread over meshed
// namespaces, each with the same number of meshed endpoints, and the one-endpoint
// change whose propagation is timed (the endpoint's zone becomes "chg-<id>").
import type { Endpoint } from "../api/gen/weft/discovery/v1/Endpoint.ts";
import { emptyInbound, serviceKey, type MeshModel, type NamespaceModel, type ServiceModel } from "../control-plane/src/mesh-state.ts";

export interface BenchMeshSpec {
  namespaces: number;
  services: number;
  endpoints: number;
}

export function namespaceName(i: number): string {
  return `bench-${i}`;
}

export function buildBenchMesh(spec: BenchMeshSpec): MeshModel {
  const namespaces = new Map<string, NamespaceModel>();
  for (let n = 0; n < spec.namespaces; n++) namespaces.set(namespaceName(n), { name: namespaceName(n), meshEnabled: true, inbound: emptyInbound() });
  const services = new Map<string, ServiceModel>();
  const perService = Math.max(1, Math.round(spec.endpoints / spec.services));
  let ip = 0;
  for (let s = 0; s < spec.services; s++) {
    const ns = namespaceName(s % spec.namespaces);
    const name = `svc-${s}`;
    const endpoints: Endpoint[] = [];
    for (let e = 0; e < perService; e++, ip++) {
      endpoints.push({
        address: `10.${(ip >> 16) & 255}.${(ip >> 8) & 255}.${ip & 255}`,
        ports: { http: 8080 },
        zone: `zone-${e % 3}`,
        node: `node-${ip % 50}`,
        pod: `${ns}/${name}-${e}`,
        ready: true,
        serving: true,
        terminating: false,
        meshed: true,
        identity: `spiffe://cluster.local/ns/${ns}/sa/${name}`,
      });
    }
    services.set(serviceKey(ns, name), { namespace: ns, name, clusterIps: [`10.96.${(s >> 8) & 255}.${s & 255}`], headless: false, ports: [{ name: "http", port: 80, protocol: "TCP", appProtocol: "http" }], endpoints, clientPolicy: null });
  }
  return { services, namespaces };
}

/** A new model in which one endpoint of one Service carries the marker of change `id`. */
export function withChange(model: MeshModel, id: number): MeshModel {
  const keys = [...model.services.keys()];
  const key = keys[id % keys.length] ?? "";
  const svc = model.services.get(key);
  if (!svc) return model;
  const services = new Map(model.services);
  services.set(key, { ...svc, endpoints: svc.endpoints.map((e, i) => (i === 0 ? { ...e, zone: `chg-${id}` } : e)) });
  return { ...model, services };
}

export function changeIdOfZone(zone: string): number | null {
  return zone.startsWith("chg-") ? Number(zone.slice(4)) : null;
}
