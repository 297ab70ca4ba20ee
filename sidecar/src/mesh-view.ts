// The data plane's view of the current mesh state: the route index and, per
// Service port, the balancer's endpoint list and effective policy, computed
// once per applied snapshot rather than per request.
import type { MeshState } from "./mesh-state.ts";
import type { Service__Output } from "../../api/gen/weft/discovery/v1/Service.ts";
import type { ServicePort__Output } from "../../api/gen/weft/discovery/v1/ServicePort.ts";
import { buildRouteIndex, endpointPort, resolveRoute, serviceKey, type RouteIndex } from "./route-index.ts";
import { effectivePolicy, type EffectivePolicy } from "./client-policy.ts";
import type { MeshEndpointChoice } from "./outbound-http.ts";

export interface MeshCall {
  service: string;
  endpoints: readonly MeshEndpointChoice[];
  policy: EffectivePolicy;
  /** The Service port says its protocol is opaque: skip detection. */
  opaque: boolean;
}

/** Local mode: where to dial an endpoint's proxy instead of its own address:port ("10.0.0.5:8080" -> 127.0.0.1:4143). */
export type DialMap = ReadonlyMap<string, { host: string; port: number }>;

export class MeshView {
  #state: MeshState | undefined;
  #index: RouteIndex = buildRouteIndex([]);
  #calls = new WeakMap<Service__Output, Map<string, MeshCall | null>>();
  readonly #dial: DialMap;
  readonly #listeners: ((state: MeshState) => void)[] = [];

  constructor(dial: DialMap = new Map()) {
    this.#dial = dial;
  }

  get state(): MeshState | undefined {
    return this.#state;
  }

  onUpdate(listener: (state: MeshState) => void): void {
    this.#listeners.push(listener);
  }

  update(state: MeshState): void {
    this.#state = state;
    this.#index = buildRouteIndex(state.services.values());
    this.#calls = new WeakMap();
    for (const listener of this.#listeners) listener(state);
  }

  /** Endpoint keys of the current state (to drop stale balancer state). */
  endpointKeys(): Set<string> {
    const keys = new Set<string>();
    for (const service of this.#state?.services.values() ?? []) {
      for (const e of service.endpoints) for (const port of Object.values(e.ports)) keys.add(`${e.address}:${port}`);
    }
    return keys;
  }

  /** How to call the original destination, or undefined to pass it through as plain TCP. */
  call(address: string, port: number): MeshCall | undefined {
    const route = resolveRoute(this.#index, address, port);
    if (route.kind === "passthrough") return undefined;
    if (route.kind === "endpoint") {
      if (!route.endpoint.meshed) return undefined;
      // A pod IP names one endpoint: no balancing, but the same policy and transport.
      return this.#build(route.service, route.port, [route.endpoint.address]) ?? undefined;
    }
    let perService = this.#calls.get(route.service);
    if (!perService) {
      perService = new Map();
      this.#calls.set(route.service, perService);
    }
    let call = perService.get(route.port.name);
    if (call === undefined) {
      call = this.#build(route.service, route.port, undefined);
      perService.set(route.port.name, call);
    }
    return call ?? undefined;
  }

  #build(service: Service__Output, port: ServicePort__Output, only: string[] | undefined): MeshCall | null {
    const endpoints: MeshEndpointChoice[] = [];
    for (const e of service.endpoints) {
      if (!e.meshed || (only && !only.includes(e.address))) continue;
      const target = endpointPort(service, port, e);
      if (target === undefined) continue;
      const key = `${e.address}:${target}`;
      const dial = this.#dial.get(key) ?? { host: e.address, port: target };
      endpoints.push({ key, zone: e.zone, ready: e.ready, serving: e.serving, terminating: e.terminating, target: { key, host: dial.host, port: dial.port, identity: e.identity } });
    }
    // Unmeshed endpoints only: the original address is called in plain TCP.
    if (endpoints.length === 0 && service.endpoints.length > 0) return null;
    const policy = effectivePolicy(this.#state?.policy.clientDefaults, service.clientPolicy);
    return { service: serviceKey(service), endpoints, policy, opaque: port.appProtocol === "opaque" };
  }
}
