// The pure core of discovery: the mesh model in, per-proxy views and the
// deltas between them out. No I/O, no clocks; tested exhaustively in
// test/control-plane/snapshot-builder.test.ts.
//
// Services are compiled once per model change into wire messages and their
// encoded bytes (snapshot-encode.ts); a compiled Service whose bytes did not
// change is reused by identity, so views share objects, diffs compare
// references, and every snapshot is assembled from bytes encoded once.
import type { ClientPolicy } from "../../api/gen/weft/discovery/v1/ClientPolicy.ts";
import type { Endpoint } from "../../api/gen/weft/discovery/v1/Endpoint.ts";
import type { ProxyPolicy } from "../../api/gen/weft/discovery/v1/ProxyPolicy.ts";
import type { Service } from "../../api/gen/weft/discovery/v1/Service.ts";
import type { ServiceRoutes } from "../../api/gen/weft/discovery/v1/ServiceRoutes.ts";
import type { MeshModel, NamespaceModel, ServiceModel } from "./mesh-state.ts";
import { serviceKey } from "./mesh-state.ts";
import { DEFAULT_CLIENT_SETTINGS, isEmptyOverride, mergeClient, type ClientSettings } from "./policy-defaults.ts";
import { GROUP_CLASS_SEPARATOR, groupNamespace, inboundPolicy, policyClassKey, WorkloadAuthorizer } from "./snapshot-authorization.ts";
import { encodeService } from "./snapshot-encode.ts";
import { ScopedServices, type ServiceMap } from "./snapshot-scoped-services.ts";
import { isMeshWide } from "./snapshot-scope.ts";
import type { CompiledService } from "./snapshot-compiled.ts";
import { compileRoutes, routesFor, type CompiledRouteTable } from "./routes-compile.ts";
import { diffRoutes, sameRoutes, type CompiledRoutes, type ScopedRoutes } from "./snapshot-scoped-routes.ts";

export type { CompiledService } from "./snapshot-compiled.ts";

export interface CompiledMesh {
  services: ReadonlyMap<string, CompiledService>;
  /** The mesh-wide Services: the previous mesh's map object itself when none of them changed. */
  meshWide: ServiceMap;
  /** Namespace -> its Services that are not mesh-wide (reused the same way). */
  local: ReadonlyMap<string, ServiceMap>;
  namespaces: ReadonlyMap<string, NamespaceModel>;
  clientDefaults: ClientSettings;
  clientDefaultsFingerprint: string;
  authorizer: WorkloadAuthorizer;
  /** GAMMA routes, compiled once per model change and shared by every group that sees them. */
  routes: CompiledRouteTable;
  /** Proxy classes asked for since this mesh was compiled, by classifyProxy's memo key. */
  classes: Map<string, ProxyClass>;
}

/** Proxies of one class get the same policy, and so share a scope group. */
export interface ProxyClass {
  /** The scope group key: "<namespace>#<class key>". */
  group: string;
  policy: ProxyPolicy;
  fingerprint: string;
}

export interface ProxyView {
  services: ScopedServices;
  routes: ScopedRoutes;
  policy: ProxyPolicy;
  policyFingerprint: string;
}

export interface ViewDelta {
  services: Service[];
  /** The same Services, compiled (with their encoded bytes), in the same order. */
  compiled: CompiledService[];
  removed: string[];
  /** Set when the proxy's policy changed (always set for a full snapshot). */
  policy: ProxyPolicy | null;
  /** Routes of parent Services added or changed (whole), with their bytes, and the keys of those removed. */
  routes: ServiceRoutes[];
  compiledRoutes: CompiledRoutes[];
  removedRoutes: string[];
}

export function compileMesh(model: MeshModel, previous?: CompiledMesh): CompiledMesh {
  const clientDefaults = mergeClient(DEFAULT_CLIENT_SETTINGS, model.clientDefaults);
  const clientDefaultsFingerprint = JSON.stringify(clientDefaults);
  // Sources that keep unchanged Services as the same objects (the benchmark's model, a future
  // incremental Kubernetes translation) skip serialization entirely for them.
  const sameDefaults = previous?.clientDefaultsFingerprint === clientDefaultsFingerprint;
  const services = new Map<string, CompiledService>();
  for (const svc of model.services.values()) {
    const key = serviceKey(svc.namespace, svc.name);
    const meshWide = isMeshWide(svc, model.namespaces);
    const old = previous?.services.get(key);
    if (old && sameDefaults && old.source === svc && old.meshWide === meshWide) {
      services.set(key, old);
      continue;
    }
    const message = toServiceMessage(svc, clientDefaults);
    const encoded = encodeService(message);
    if (old && old.meshWide === meshWide && old.encoded.equals(encoded)) {
      // Same bytes from a new model object (a source that rebuilds its model): keep the compiled
      // object itself, so views and history keep sharing it, and remember the new source.
      old.source = svc;
      services.set(key, old);
    } else services.set(key, { key, source: svc, namespace: svc.namespace, meshWide, message, encoded });
  }
  const meshWide = new Map<string, CompiledService>();
  const local = new Map<string, Map<string, CompiledService>>();
  for (const svc of services.values()) {
    if (svc.meshWide) meshWide.set(svc.key, svc);
    else {
      let own = local.get(svc.namespace);
      if (!own) local.set(svc.namespace, (own = new Map()));
      own.set(svc.key, svc);
    }
  }
  return {
    services,
    routes: compileRoutes(model.routes, services, previous?.routes),
    meshWide: reuseIfSame(previous?.meshWide, meshWide),
    local: new Map([...local].map(([ns, own]) => [ns, reuseIfSame(previous?.local.get(ns), own)])),
    namespaces: model.namespaces,
    clientDefaults,
    clientDefaultsFingerprint,
    authorizer: new WorkloadAuthorizer({ authorization: model.authorization ?? null, namespaces: model.namespaces, services: model.services.values() }),
    classes: new Map(),
  };
}

/**
 * The class of a proxy in `namespace` whose Hello named `workload` (null: the namespace's own
 * policy). Memoized per compiled mesh, and shared by every workload of a namespace whose answer
 * cannot depend on the pod (no pod-selecting policy, no pod annotation).
 */
export function classifyProxy(mesh: CompiledMesh, namespace: string, workload: string | null): ProxyClass {
  const memoKey = mesh.authorizer.sharedKey(namespace, workload) ?? `${namespace}/${workload ?? ""}`;
  let known = mesh.classes.get(memoKey);
  if (!known) {
    const policy = proxyPolicy(mesh, namespace, workload);
    known = { group: `${namespace}${GROUP_CLASS_SEPARATOR}${policyClassKey(policy)}`, policy, fingerprint: JSON.stringify(policy) };
    mesh.classes.set(memoKey, known);
  }
  return known;
}

/** The old map when it holds exactly the same compiled objects, so views and history share it. */
function reuseIfSame(old: ServiceMap | undefined, fresh: ServiceMap): ServiceMap {
  if (!old || old.size !== fresh.size) return fresh;
  for (const [key, svc] of fresh) if (old.get(key) !== svc) return fresh;
  return old;
}

/**
 * A group's view. A class group (`fixed`) keeps its policy for life: a proxy whose policy changes
 * moves to another group. A bare namespace key follows the namespace's own policy.
 */
export function buildView(mesh: CompiledMesh, group: string, fixed?: ProxyClass): ProxyView {
  const namespace = groupNamespace(group);
  const services = new ScopedServices(mesh.meshWide, mesh.local.get(namespace));
  const routes = routesFor(mesh.routes, namespace);
  if (fixed) return { services, routes, policy: fixed.policy, policyFingerprint: fixed.fingerprint };
  const policy = proxyPolicy(mesh, namespace, null);
  return { services, routes, policy, policyFingerprint: JSON.stringify(policy) };
}

/** The parts of `to` that are not the very map objects `from` has (only these can differ). */
function changedParts(from: ScopedServices, to: ScopedServices): { fromParts: ServiceMap[]; toParts: ServiceMap[] } {
  const fromParts: ServiceMap[] = [];
  const toParts: ServiceMap[] = [];
  if (from.meshWide !== to.meshWide) {
    fromParts.push(from.meshWide);
    toParts.push(to.meshWide);
  }
  if (from.local !== to.local) {
    fromParts.push(from.local);
    toParts.push(to.local);
  }
  return { fromParts, toParts };
}

export function sameView(a: ProxyView, b: ProxyView): boolean {
  if (a.policyFingerprint !== b.policyFingerprint || a.services.size !== b.services.size) return false;
  for (const part of changedParts(a.services, b.services).toParts) {
    for (const [key, svc] of part) if (!sameService(a.services.get(key), svc)) return false;
  }
  return sameRoutes(a.routes, b.routes);
}

function sameService(old: CompiledService | undefined, svc: CompiledService): boolean {
  return old === svc || (old !== undefined && old.encoded.equals(svc.encoded));
}

/** What turns `from` into `to`; `from` null means a full snapshot. */
export function diffViews(from: ProxyView | null, to: ProxyView): ViewDelta {
  if (!from) {
    const compiled = sorted([...to.services.values()]);
    const routes = diffRoutes(null, to.routes);
    return { services: compiled.map((s) => s.message), compiled, removed: [], policy: to.policy, ...routeFields(routes) };
  }
  const { fromParts, toParts } = changedParts(from.services, to.services);
  const changed: CompiledService[] = [];
  for (const part of toParts) {
    for (const [key, svc] of part) if (!sameService(from.services.get(key), svc)) changed.push(svc);
  }
  const removed = fromParts.flatMap((part) => [...part.keys()].filter((k) => !to.services.has(k))).sort();
  const policy = from.policyFingerprint === to.policyFingerprint ? null : to.policy;
  const compiled = sorted(changed);
  return { services: compiled.map((s) => s.message), compiled, removed, policy, ...routeFields(diffRoutes(from.routes, to.routes)) };
}

function routeFields(d: ReturnType<typeof diffRoutes>): Pick<ViewDelta, "routes" | "compiledRoutes" | "removedRoutes"> {
  return { routes: d.changed.map((r) => r.message), compiledRoutes: d.changed, removedRoutes: d.removed };
}

function sorted(services: CompiledService[]): CompiledService[] {
  return services.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function proxyPolicy(mesh: CompiledMesh, proxyNamespace: string, workload: string | null = null): ProxyPolicy {
  return {
    clientDefaults: toClientPolicy(mesh.clientDefaults),
    inbound: inboundPolicy(mesh.authorizer.inbound(proxyNamespace, workload), mesh.namespaces.get(proxyNamespace)),
  };
}

export function toClientPolicy(settings: ClientSettings): ClientPolicy {
  const r = settings.retry;
  return {
    retry: {
      enabled: r.enabled,
      maxRetries: r.maxRetries,
      retryOnHttpStatus: [...r.retryOnHttpStatus],
      retryOnGrpcStatus: [...r.retryOnGrpcStatus],
      budgetRatio: r.budgetRatio,
      budgetMinPerSecond: r.budgetMinPerSecond,
      backoffBaseMs: r.backoffBaseMs,
      backoffMaxMs: r.backoffMaxMs,
      maxBufferedBodyBytes: r.maxBufferedBodyBytes,
    },
    // Proxies from before the timeouts were split read only this one.
    requestTimeoutMs: settings.responseTimeoutMs,
    connectTimeoutMs: settings.connectTimeoutMs,
    // Always set, so a proxy reads 0 as "off" rather than "unset".
    responseTimeoutMs: settings.responseTimeoutMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    totalTimeoutMs: settings.totalTimeoutMs,
  };
}

// Property order is fixed here so JSON.stringify is a stable fingerprint.
function toServiceMessage(svc: ServiceModel, defaults: ClientSettings): Service {
  const ports = [...svc.ports]
    .map((p) => ({ name: p.name ?? "", port: p.port ?? 0, protocol: p.protocol || "TCP", appProtocol: p.appProtocol ?? "" }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.port - b.port));
  const endpoints = svc.endpoints.map(normalizeEndpoint).sort(compareEndpoints);
  return {
    namespace: svc.namespace,
    name: svc.name,
    clusterIps: [...svc.clusterIps],
    headless: svc.headless,
    ports,
    endpoints,
    clientPolicy: isEmptyOverride(svc.clientPolicy) ? null : toClientPolicy(mergeClient(defaults, svc.clientPolicy)),
  };
}

function normalizeEndpoint(e: Endpoint): Endpoint {
  const ports: Record<string, number> = {};
  for (const name of Object.keys(e.ports ?? {}).sort()) ports[name] = e.ports?.[name] ?? 0;
  const meshed = e.meshed === true;
  return {
    address: e.address ?? "",
    ports,
    zone: e.zone ?? "",
    node: e.node ?? "",
    pod: e.pod ?? "",
    ready: e.ready === true,
    serving: e.serving === true,
    terminating: e.terminating === true,
    meshed,
    identity: meshed ? (e.identity ?? "") : "",
  };
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  const ka = `${a.address}|${a.pod}`;
  const kb = `${b.address}|${b.pod}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
