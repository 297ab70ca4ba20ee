// A Snapshot written as JSON (static mode: benchmarks, demos) normalized the
// way a protobuf round trip with api/load.ts's options would (unset fields
// get their defaults, numbers and booleans coerced as protobufjs's fromObject
// does), without loading @grpc/proto-loader and protobufjs: static mode has
// no other use for them, and they cost ~16 MB of RSS. test/sidecar/
// snapshot-json.test.ts checks it against the real round trip.
import type { Snapshot__Output } from "../../../api/gen/weft/discovery/v1/Snapshot.ts";
import type { Service__Output } from "../../../api/gen/weft/discovery/v1/Service.ts";
import type { ServicePort__Output } from "../../../api/gen/weft/discovery/v1/ServicePort.ts";
import type { Endpoint__Output } from "../../../api/gen/weft/discovery/v1/Endpoint.ts";
import type { ProxyPolicy__Output } from "../../../api/gen/weft/discovery/v1/ProxyPolicy.ts";
import type { ClientPolicy__Output } from "../../../api/gen/weft/discovery/v1/ClientPolicy.ts";
import type { RetryPolicy__Output } from "../../../api/gen/weft/discovery/v1/RetryPolicy.ts";
import type { InboundPolicy__Output } from "../../../api/gen/weft/discovery/v1/InboundPolicy.ts";
import { fail, ok, type Result } from "../../../lib/result.ts";

type Obj = Record<string, unknown>;

/** What protobufjs throws on, as a value: the field path and what was expected. */
class Bad {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

const set = (v: unknown): boolean => v !== null && v !== undefined;

function obj(v: unknown, path: string): Obj | undefined {
  if (!set(v)) return undefined;
  if (typeof v !== "object") throw new Bad(`${path}: object expected`);
  return v as Obj;
}

function list(v: unknown, path: string): unknown[] {
  if (!set(v)) return [];
  if (!Array.isArray(v)) throw new Bad(`${path}: array expected`);
  return v;
}

const str = (v: unknown): string => (set(v) ? String(v) : "");
const bool = (v: unknown): boolean => (set(v) ? Boolean(v) : false);
const u32 = (v: unknown): number => (set(v) ? Number(v) >>> 0 : 0);
const dbl = (v: unknown): number => (set(v) ? Number(v) : 0);

const MODES = ["MODE_UNSPECIFIED", "STRICT", "PERMISSIVE"] as const;

function mode(v: unknown): InboundPolicy__Output["mode"] {
  if (typeof v === "number") return (MODES[v] ?? v) as InboundPolicy__Output["mode"];
  return MODES.find((m) => m === v) ?? "MODE_UNSPECIFIED";
}

function retry(v: unknown, path: string): RetryPolicy__Output | null {
  const o = obj(v, path);
  if (!o) return null;
  return {
    enabled: bool(o.enabled),
    maxRetries: u32(o.maxRetries),
    retryOnHttpStatus: list(o.retryOnHttpStatus, `${path}.retryOnHttpStatus`).map(u32),
    retryOnGrpcStatus: list(o.retryOnGrpcStatus, `${path}.retryOnGrpcStatus`).map(str),
    budgetRatio: dbl(o.budgetRatio),
    budgetMinPerSecond: u32(o.budgetMinPerSecond),
    backoffBaseMs: u32(o.backoffBaseMs),
    backoffMaxMs: u32(o.backoffMaxMs),
    maxBufferedBodyBytes: u32(o.maxBufferedBodyBytes),
  };
}

function client(v: unknown, path: string): ClientPolicy__Output | null {
  const o = obj(v, path);
  if (!o) return null;
  const out: ClientPolicy__Output = { retry: retry(o.retry, `${path}.retry`), requestTimeoutMs: u32(o.requestTimeoutMs), connectTimeoutMs: u32(o.connectTimeoutMs) };
  // proto3 `optional` fields: present (with their oneof's name, as `oneofs: true` gives) only when set, so 0 stays "off".
  if (set(o.responseTimeoutMs)) {
    out.responseTimeoutMs = u32(o.responseTimeoutMs);
    out._responseTimeoutMs = "responseTimeoutMs";
  }
  if (set(o.idleTimeoutMs)) {
    out.idleTimeoutMs = u32(o.idleTimeoutMs);
    out._idleTimeoutMs = "idleTimeoutMs";
  }
  if (set(o.totalTimeoutMs)) {
    out.totalTimeoutMs = u32(o.totalTimeoutMs);
    out._totalTimeoutMs = "totalTimeoutMs";
  }
  return out;
}

function inbound(v: unknown, path: string): InboundPolicy__Output | null {
  const o = obj(v, path);
  if (!o) return null;
  return { mode: mode(o.mode), allowedIdentities: list(o.allowedIdentities, `${path}.allowedIdentities`).map(str), plaintextPorts: list(o.plaintextPorts, `${path}.plaintextPorts`).map(u32), authorization: null };
}

function policy(v: unknown, path: string): ProxyPolicy__Output | null {
  const o = obj(v, path);
  if (!o) return null;
  return { clientDefaults: client(o.clientDefaults, `${path}.clientDefaults`), inbound: inbound(o.inbound, `${path}.inbound`) };
}

function port(v: unknown, path: string): ServicePort__Output {
  const o = obj(v, path) ?? {};
  return { name: str(o.name), port: u32(o.port), protocol: str(o.protocol), appProtocol: str(o.appProtocol) };
}

function endpoint(v: unknown, path: string): Endpoint__Output {
  const o = obj(v, path) ?? {};
  const ports: Record<string, number> = {};
  const p = obj(o.ports, `${path}.ports`);
  if (p) for (const k of Object.keys(p)) ports[k] = u32(p[k]);
  return {
    address: str(o.address),
    ports,
    zone: str(o.zone),
    node: str(o.node),
    pod: str(o.pod),
    ready: bool(o.ready),
    serving: bool(o.serving),
    terminating: bool(o.terminating),
    meshed: bool(o.meshed),
    identity: str(o.identity),
  };
}

function service(v: unknown, path: string): Service__Output {
  const o = obj(v, path) ?? {};
  return {
    namespace: str(o.namespace),
    name: str(o.name),
    clusterIps: list(o.clusterIps, `${path}.clusterIps`).map(str),
    headless: bool(o.headless),
    ports: list(o.ports, `${path}.ports`).map((p, i) => port(p, `${path}.ports[${i}]`)),
    endpoints: list(o.endpoints, `${path}.endpoints`).map((e, i) => endpoint(e, `${path}.endpoints[${i}]`)),
    clientPolicy: client(o.clientPolicy, `${path}.clientPolicy`),
  };
}

/** Normalizes a snapshot written as JSON (proto field names in camelCase) the way the wire would: unset fields get defaults. */
export function snapshotFromJson(value: unknown): Result<Snapshot__Output, "bad-json"> {
  try {
    const o = obj(value, "Snapshot") ?? {};
    return ok({
      version: str(o.version),
      full: bool(o.full),
      baseVersion: str(o.baseVersion),
      services: list(o.services, "services").map((s, i) => service(s, `services[${i}]`)),
      removedServices: list(o.removedServices, "removedServices").map(str),
      policy: policy(o.policy, "policy"),
    });
  } catch (err) {
    return fail("bad-json", `not a weft.discovery.v1.Snapshot: ${err instanceof Bad ? err.message : String(err)}`);
  }
}
