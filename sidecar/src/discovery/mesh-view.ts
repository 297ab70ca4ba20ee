// The data plane's view of the current mesh state: the route index and, per
// Service port, the balancer's endpoint list and effective policy, computed
// once per applied snapshot rather than per request. Each update touches only
// the Services that changed (found by diffing the persistent Service maps), so
// a one-endpoint delta does not rebuild indices over the whole mesh.
import type { MeshRoutes, MeshService, MeshState } from "./mesh-state.ts";
import { PersistentMap } from "./persistent-map.ts";
import type { Service__Output } from "../../../api/gen/weft/discovery/v1/Service.ts";
import type { ServicePort__Output } from "../../../api/gen/weft/discovery/v1/ServicePort.ts";
import { buildRouteIndex, endpointPort, resolveRoute, serviceKey, type RouteIndex } from "./route-index.ts";
import { effectivePolicy, type EffectivePolicy } from "./client-policy.ts";

/** Where the proxy dials one endpoint, and the SPIFFE id that endpoint must present. */
export interface MeshEndpointTarget {
  /** Endpoint key (address:port as the snapshot names it). */
  key: string;
  host: string;
  port: number;
  identity: string;
}

/** One endpoint of a Service port as the balancer sees it: its readiness and zone, and where to dial it. */
export interface MeshEndpoint {
  key: string;
  zone: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  target: MeshEndpointTarget;
}

export interface MeshCall {
  service: string;
  endpoints: readonly MeshEndpoint[];
  policy: EffectivePolicy;
  /** The Service port says its protocol is opaque: skip detection. */
  opaque: boolean;
  /** The Service port called (its number). */
  port: number;
  /**
   * The routes of calls to this Service (GAMMA), when any: only a call to the
   * Service itself (its cluster IP) follows them, never one to a pod's address.
   */
  routes: MeshRoutes | undefined;
}

/** Local mode: where to dial an endpoint's proxy instead of its own address:port ("10.0.0.5:8080" -> 127.0.0.1:4143). */
export type DialMap = ReadonlyMap<string, { host: string; port: number }>;

export class MeshView {
  #state: MeshState | undefined;
  readonly #index: RouteIndex = buildRouteIndex([]);
  #calls = new WeakMap<Service__Output, Map<string, MeshCall | null>>();
  /** "address:port" of every endpoint port in the state; #shared counts keys named by more than one Service. */
  readonly #endpointKeys = new Set<string>();
  readonly #shared = new Map<string, number>();
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
    const previous = this.#state;
    this.#state = state;
    // Calls are cached per Service object (a changed Service is a new object); the policy defaults apply to all.
    if (previous?.policy !== state.policy) this.#calls = new WeakMap();
    // A Service whose routes changed gets its calls built again, so the request path reads routes off the call.
    PersistentMap.diff(previous?.routes ?? PersistentMap.empty<MeshRoutes>(), state.routes, ({ key }) => {
      const service = state.services.get(key);
      if (service) this.#calls.delete(service);
    });
    PersistentMap.diff(previous?.services ?? PersistentMap.empty<MeshService>(), state.services, ({ before, after }) => {
      if (before) {
        this.#index.remove(before);
        this.#forEndpointKeys(before, (key) => this.#releaseKey(key));
      }
      if (after) {
        this.#index.add(after);
        this.#forEndpointKeys(after, (key) => this.#holdKey(key));
      }
    });
    for (const listener of this.#listeners) listener(state);
  }

  /** Endpoint keys of the current state (to drop stale balancer state): a live set, read it before the next update. */
  endpointKeys(): ReadonlySet<string> {
    return this.#endpointKeys;
  }

  #forEndpointKeys(service: MeshService, fn: (key: string) => void): void {
    for (const e of service.endpoints) for (const port of Object.values(e.ports)) fn(`${e.address}:${port}`);
  }

  #holdKey(key: string): void {
    if (!this.#endpointKeys.has(key)) this.#endpointKeys.add(key);
    else this.#shared.set(key, (this.#shared.get(key) ?? 1) + 1);
  }

  #releaseKey(key: string): void {
    const count = this.#shared.get(key);
    if (count === undefined) this.#endpointKeys.delete(key);
    else if (count <= 2) this.#shared.delete(key);
    else this.#shared.set(key, count - 1);
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
    return this.#cached(route.service, route.port) ?? undefined;
  }

  /**
   * How to call port `port` of the Service `key` ("namespace/name"): a route's
   * backend. Undefined when the Service, the port or a meshed endpoint is missing.
   */
  callService(key: string, port: number): MeshCall | undefined {
    const service = this.#state?.services.get(key);
    if (!service) return undefined;
    for (const p of service.ports) if (p.port === port) return this.#cached(service, p) ?? undefined;
    return undefined;
  }

  #cached(service: Service__Output, port: ServicePort__Output): MeshCall | null {
    let perService = this.#calls.get(service);
    if (!perService) {
      perService = new Map();
      this.#calls.set(service, perService);
    }
    let call = perService.get(port.name);
    if (call === undefined) {
      call = this.#build(service, port, undefined);
      perService.set(port.name, call);
    }
    return call;
  }

  #build(service: Service__Output, port: ServicePort__Output, only: string[] | undefined): MeshCall | null {
    const endpoints: MeshEndpoint[] = [];
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
    const key = serviceKey(service);
    const routes = only ? undefined : this.#state?.routes.get(key);
    return { service: key, endpoints, policy, opaque: port.appProtocol === "opaque", port: port.port, routes };
  }
}
