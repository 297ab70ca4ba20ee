// What the proxy knows about the mesh: the Services it may call with their
// endpoints, and its policy, at one version. Snapshots from the control plane
// are applied here by one pure function that validates before it changes
// anything, so a bad snapshot is NACKed and the last good state is kept.
// The Services are a persistent map: a delta costs what it changes, not a
// copy of the mesh, and an earlier state is never modified by a later apply.
import { isIP } from "node:net";
import { readFile } from "node:fs/promises";
import type { Endpoint__Output } from "../../../api/gen/weft/discovery/v1/Endpoint.ts";
import type { ProxyPolicy__Output } from "../../../api/gen/weft/discovery/v1/ProxyPolicy.ts";
import type { Service__Output } from "../../../api/gen/weft/discovery/v1/Service.ts";
import type { ServiceRoutes__Output } from "../../../api/gen/weft/discovery/v1/ServiceRoutes.ts";
import type { Snapshot, Snapshot__Output } from "../../../api/gen/weft/discovery/v1/Snapshot.ts";
import { fail, ok, type Result } from "../../../lib/result.ts";
import { parseSpiffeId } from "../../../lib/spiffe.ts";
import { snapshotFromJson } from "./snapshot-json.ts";
import { PersistentMap } from "./persistent-map.ts";

export { snapshotFromJson };

export type MeshService = Service__Output;
export type MeshEndpoint = Endpoint__Output;
export type MeshPolicy = ProxyPolicy__Output;
export type MeshRoutes = ServiceRoutes__Output;

export interface MeshState {
  /** The control plane's version string ("" for a state loaded from a file without one). */
  version: string;
  /** Keyed by "namespace/name"; unchanged Services keep their object from one state to the next. */
  services: PersistentMap<MeshService>;
  policy: MeshPolicy;
  /**
   * The routes of calls to each Service, keyed by the parent Service's
   * "namespace/name" and replaced whole, like Services. Whether a route set
   * can be used (its regexes compile, its matches name rules that exist) is
   * the routing group's to say, through the discovery client's validate hook.
   */
  routes: PersistentMap<MeshRoutes>;
}

export type ApplyRefusal = "no-version" | "delta-without-base" | "base-mismatch" | "full-without-policy" | "bad-service" | "duplicate-service" | "bad-endpoint" | "bad-routes";

export function meshServiceKey(service: Pick<MeshService, "namespace" | "name">): string {
  return `${service.namespace}/${service.name}`;
}

/** The state after `snapshot`, or why the snapshot is refused (the caller keeps `state`). */
export function applySnapshot(state: MeshState | null, snapshot: Snapshot__Output): Result<MeshState, ApplyRefusal> {
  if (!snapshot.version) return fail("no-version", "snapshot has no version");
  if (!snapshot.full) {
    if (!state) return fail("delta-without-base", `delta ${snapshot.version} arrived but no snapshot is held`);
    if (snapshot.baseVersion !== state.version) {
      return fail("base-mismatch", `delta ${snapshot.version} applies to ${snapshot.baseVersion}, but ${state.version || "(none)"} is held`);
    }
  } else if (!snapshot.policy) {
    return fail("full-without-policy", `full snapshot ${snapshot.version} carries no policy`);
  }
  const seen = new Set<string>();
  for (const service of snapshot.services) {
    const checked = validateService(service);
    if (!checked.ok) return checked;
    const key = meshServiceKey(service);
    if (seen.has(key)) return fail("duplicate-service", `snapshot ${snapshot.version} lists ${key} twice`);
    seen.add(key);
  }
  for (const key of snapshot.removedServices) {
    if (seen.has(key)) return fail("duplicate-service", `snapshot ${snapshot.version} both updates and removes ${key}`);
  }
  const routed = new Set<string>();
  for (const r of snapshot.routes) {
    if (!SERVICE_KEY.test(r.service)) return fail("bad-routes", `snapshot ${snapshot.version}: routes for "${r.service}", which is not a Service's namespace/name`);
    if (routed.has(r.service)) return fail("bad-routes", `snapshot ${snapshot.version} lists the routes of ${r.service} twice`);
    routed.add(r.service);
  }
  for (const key of snapshot.removedRoutes) {
    if (routed.has(key)) return fail("bad-routes", `snapshot ${snapshot.version} both updates and removes the routes of ${key}`);
  }
  let services = snapshot.full || !state ? PersistentMap.empty<MeshService>() : state.services;
  for (const key of snapshot.removedServices) services = services.delete(key);
  for (const service of snapshot.services) services = services.set(meshServiceKey(service), service);
  let routes = snapshot.full || !state ? PersistentMap.empty<MeshRoutes>() : state.routes;
  for (const key of snapshot.removedRoutes) routes = routes.delete(key);
  for (const r of snapshot.routes) routes = routes.set(r.service, r);
  const policy = snapshot.policy ?? state?.policy;
  if (!policy) return fail("full-without-policy", "no policy held or sent");
  return ok({ version: snapshot.version, services, policy, routes });
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const SERVICE_KEY = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function validateService(s: MeshService): Result<MeshService, ApplyRefusal> {
  const key = meshServiceKey(s);
  if (!NAME.test(s.namespace) || !NAME.test(s.name)) return fail("bad-service", `service "${key}" has an invalid namespace or name`);
  for (const ip of s.clusterIps) if (isIP(ip) === 0) return fail("bad-service", `service ${key}: cluster IP "${ip}" is not an IP address`);
  for (const p of s.ports) {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) return fail("bad-service", `service ${key}: port ${p.port} is out of range`);
  }
  // The pods behind a Service nearly always run as one ServiceAccount: one identity to parse.
  let validIdentity: string | null = null;
  for (const e of s.endpoints) {
    const refusal = endpointRefusal(key, e, validIdentity);
    if (refusal) return fail("bad-endpoint", refusal);
    if (e.meshed) validIdentity = e.identity;
  }
  return ok(s);
}

function endpointRefusal(key: string, e: MeshEndpoint, validIdentity: string | null): string | null {
  if (isIP(e.address) === 0) return `service ${key}: endpoint address "${e.address}" is not an IP address`;
  for (const name in e.ports) {
    const port = e.ports[name];
    if (!Number.isInteger(port) || port === undefined || port < 1 || port > 65535) return `service ${key}: endpoint ${e.address} port ${name}=${port} is out of range`;
  }
  if (e.meshed && e.identity !== validIdentity && !parseSpiffeId(e.identity).ok) {
    return `service ${key}: meshed endpoint ${e.address} has no valid identity ("${e.identity}")`;
  }
  return null;
}

/** The state as a full Snapshot object (JSON-serializable), the format loadMeshStateFile reads. */
export function meshStateToSnapshot(state: MeshState): Snapshot {
  const services = [...state.services.keys()].sort().map((k) => state.services.get(k) as MeshService);
  const routes = [...state.routes.keys()].sort().map((k) => state.routes.get(k) as MeshRoutes);
  return { version: state.version || "static", full: true, baseVersion: "", services, removedServices: [], policy: state.policy, routes, removedRoutes: [] };
}

/**
 * Loads a state from a JSON file holding one full Snapshot ({version, services, policy}),
 * for running proxies (benchmarks, demos) without a control plane.
 */
export async function loadMeshStateFile(path: string): Promise<Result<MeshState>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    return fail("unreadable", `cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail("bad-json", `${path}: ${(err as Error).message}`);
  }
  const snapshot = snapshotFromJson({ version: "static", ...(json as object), full: true });
  if (!snapshot.ok) return snapshot;
  const applied = applySnapshot(null, snapshot.value);
  return applied.ok ? applied : fail(applied.code, `${path}: ${applied.message}`);
}
