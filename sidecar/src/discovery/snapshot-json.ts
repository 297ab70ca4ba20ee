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
import type { Authorization__Output } from "../../../api/gen/weft/discovery/v1/Authorization.ts";
import type { AuthorizationPolicy__Output } from "../../../api/gen/weft/discovery/v1/AuthorizationPolicy.ts";
import type { AuthorizationRule__Output } from "../../../api/gen/weft/discovery/v1/AuthorizationRule.ts";
import type { AuthorizationSource__Output } from "../../../api/gen/weft/discovery/v1/AuthorizationSource.ts";
import type { AuthorizationOperation__Output } from "../../../api/gen/weft/discovery/v1/AuthorizationOperation.ts";
import type { PathMatch__Output } from "../../../api/gen/weft/discovery/v1/PathMatch.ts";
import type { GrpcMethodMatch__Output } from "../../../api/gen/weft/discovery/v1/GrpcMethodMatch.ts";
import type { ServiceRoutes__Output } from "../../../api/gen/weft/discovery/v1/ServiceRoutes.ts";
import type { RouteRule__Output } from "../../../api/gen/weft/discovery/v1/RouteRule.ts";
import type { RouteBackend__Output } from "../../../api/gen/weft/discovery/v1/RouteBackend.ts";
import type { RouteMatch__Output } from "../../../api/gen/weft/discovery/v1/RouteMatch.ts";
import type { RouteValueMatch__Output } from "../../../api/gen/weft/discovery/v1/RouteValueMatch.ts";
import type { RouteFilter__Output } from "../../../api/gen/weft/discovery/v1/RouteFilter.ts";
import type { HeaderModifier__Output } from "../../../api/gen/weft/discovery/v1/HeaderModifier.ts";
import type { PathModifier__Output } from "../../../api/gen/weft/discovery/v1/PathModifier.ts";
import type { RouteRetry__Output } from "../../../api/gen/weft/discovery/v1/RouteRetry.ts";
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

const DEFAULT_POLICIES = ["DEFAULT_INBOUND_POLICY_UNSPECIFIED", "DEFAULT_ALL_AUTHENTICATED", "DEFAULT_CLUSTER_AUTHENTICATED", "DEFAULT_ALL_UNAUTHENTICATED", "DEFAULT_DENY"] as const;
const ACTIONS = ["AUTHORIZATION_ACTION_UNSPECIFIED", "ALLOW", "DENY", "AUDIT"] as const;

/** An enum as protobufjs reads it: a known name or number gives the name, an unknown number stays a number, anything else the zero value. */
function enumOf<T extends string>(names: readonly T[], v: unknown): T {
  if (typeof v === "number") return (names[v] ?? v) as T;
  return names.find((n) => n === v) ?? (names[0] as T);
}

function pathMatch(v: unknown, path: string): PathMatch__Output {
  const o = obj(v, path) ?? {};
  // A oneof: only the members that were set are present, and `match` names the last one (what the wire keeps).
  const out: PathMatch__Output = {};
  if (set(o.exact)) {
    out.exact = str(o.exact);
    out.match = "exact";
  }
  if (set(o.prefix)) {
    out.prefix = str(o.prefix);
    out.match = "prefix";
  }
  return out;
}

function grpcMatch(v: unknown, path: string): GrpcMethodMatch__Output {
  const o = obj(v, path) ?? {};
  return { service: str(o.service), method: str(o.method) };
}

function source(v: unknown, path: string): AuthorizationSource__Output {
  const o = obj(v, path) ?? {};
  const strs = (field: string): string[] => list(o[field], `${path}.${field}`).map(str);
  return {
    identities: strs("identities"),
    notIdentities: strs("notIdentities"),
    namespaces: strs("namespaces"),
    notNamespaces: strs("notNamespaces"),
    serviceAccounts: strs("serviceAccounts"),
    notServiceAccounts: strs("notServiceAccounts"),
    unauthenticated: bool(o.unauthenticated),
  };
}

function operation(v: unknown, path: string): AuthorizationOperation__Output {
  const o = obj(v, path) ?? {};
  const strs = (field: string): string[] => list(o[field], `${path}.${field}`).map(str);
  const paths = (field: string): PathMatch__Output[] => list(o[field], `${path}.${field}`).map((p, i) => pathMatch(p, `${path}.${field}[${i}]`));
  return {
    ports: list(o.ports, `${path}.ports`).map(u32),
    notPorts: list(o.notPorts, `${path}.notPorts`).map(u32),
    methods: strs("methods"),
    notMethods: strs("notMethods"),
    paths: paths("paths"),
    notPaths: paths("notPaths"),
    hosts: strs("hosts"),
    notHosts: strs("notHosts"),
    grpc: list(o.grpc, `${path}.grpc`).map((g, i) => grpcMatch(g, `${path}.grpc[${i}]`)),
  };
}

function rule(v: unknown, path: string): AuthorizationRule__Output {
  const o = obj(v, path) ?? {};
  return {
    from: list(o.from, `${path}.from`).map((f, i) => source(f, `${path}.from[${i}]`)),
    to: list(o.to, `${path}.to`).map((t, i) => operation(t, `${path}.to[${i}]`)),
  };
}

function authzPolicy(v: unknown, path: string): AuthorizationPolicy__Output {
  const o = obj(v, path) ?? {};
  return {
    name: str(o.name),
    action: enumOf(ACTIONS, o.action),
    ports: list(o.ports, `${path}.ports`).map(u32),
    rules: list(o.rules, `${path}.rules`).map((r, i) => rule(r, `${path}.rules[${i}]`)),
  };
}

function authorization(v: unknown, path: string): Authorization__Output | null {
  const o = obj(v, path);
  if (!o) return null;
  return {
    defaultPolicy: enumOf(DEFAULT_POLICIES, o.defaultPolicy),
    defaultDryRun: bool(o.defaultDryRun),
    policies: list(o.policies, `${path}.policies`).map((p, i) => authzPolicy(p, `${path}.policies[${i}]`)),
    trustDomain: str(o.trustDomain),
  };
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
  return { mode: mode(o.mode), allowedIdentities: list(o.allowedIdentities, `${path}.allowedIdentities`).map(str), plaintextPorts: list(o.plaintextPorts, `${path}.plaintextPorts`).map(u32), authorization: authorization(o.authorization, `${path}.authorization`) };
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

const PATH_MATCH_TYPES = ["ANY", "EXACT", "PREFIX", "REGEX"] as const;
const PATH_MODIFIER_TYPES = ["NONE", "REPLACE_FULL_PATH", "REPLACE_PREFIX_MATCH"] as const;

function valueMatch(v: unknown, path: string): RouteValueMatch__Output {
  const o = obj(v, path) ?? {};
  return { name: str(o.name), regex: bool(o.regex), value: str(o.value) };
}

function headerModifier(v: unknown, path: string): HeaderModifier__Output | null {
  const o = obj(v, path);
  if (!o) return null;
  const values = (field: string): { name: string; value: string }[] =>
    list(o[field], `${path}.${field}`).map((h, i) => {
      const ho = obj(h, `${path}.${field}[${i}]`) ?? {};
      return { name: str(ho.name), value: str(ho.value) };
    });
  return { set: values("set"), add: values("add"), remove: list(o.remove, `${path}.remove`).map(str) };
}

function pathModifier(v: unknown, path: string): PathModifier__Output | null {
  const o = obj(v, path);
  if (!o) return null;
  return { type: enumOf(PATH_MODIFIER_TYPES, o.type), value: str(o.value) };
}

function routeFilter(v: unknown, path: string): RouteFilter__Output {
  const o = obj(v, path) ?? {};
  // A oneof: the last member set is the one the wire keeps, and `filter` names it.
  const out: RouteFilter__Output = {};
  if (set(o.requestHeaderModifier)) {
    out.requestHeaderModifier = headerModifier(o.requestHeaderModifier, `${path}.requestHeaderModifier`);
    out.filter = "requestHeaderModifier";
  }
  if (set(o.responseHeaderModifier)) {
    out.responseHeaderModifier = headerModifier(o.responseHeaderModifier, `${path}.responseHeaderModifier`);
    out.filter = "responseHeaderModifier";
  }
  const redirect = obj(o.requestRedirect, `${path}.requestRedirect`);
  if (redirect) {
    out.requestRedirect = { scheme: str(redirect.scheme), hostname: str(redirect.hostname), port: u32(redirect.port), path: pathModifier(redirect.path, `${path}.requestRedirect.path`), statusCode: u32(redirect.statusCode) };
    out.filter = "requestRedirect";
  }
  const rewrite = obj(o.urlRewrite, `${path}.urlRewrite`);
  if (rewrite) {
    out.urlRewrite = { hostname: str(rewrite.hostname), path: pathModifier(rewrite.path, `${path}.urlRewrite.path`) };
    out.filter = "urlRewrite";
  }
  const mirror = obj(o.requestMirror, `${path}.requestMirror`);
  if (mirror) {
    out.requestMirror = { service: str(mirror.service), port: u32(mirror.port), percent: dbl(mirror.percent) };
    out.filter = "requestMirror";
  }
  return out;
}

function routeFilters(v: unknown, path: string): RouteFilter__Output[] {
  return list(v, path).map((f, i) => routeFilter(f, `${path}[${i}]`));
}

function routeRetry(v: unknown, path: string): RouteRetry__Output | null {
  const o = obj(v, path);
  if (!o) return null;
  return { attempts: u32(o.attempts), codes: list(o.codes, `${path}.codes`).map(u32), backoffMs: u32(o.backoffMs) };
}

function routeBackend(v: unknown, path: string): RouteBackend__Output {
  const o = obj(v, path) ?? {};
  return { service: str(o.service), port: u32(o.port), weight: u32(o.weight), filters: routeFilters(o.filters, `${path}.filters`), invalid: bool(o.invalid) };
}

function routeRule(v: unknown, path: string): RouteRule__Output {
  const o = obj(v, path) ?? {};
  const out: RouteRule__Output = {
    route: str(o.route),
    name: str(o.name),
    kind: str(o.kind),
    backends: list(o.backends, `${path}.backends`).map((b, i) => routeBackend(b, `${path}.backends[${i}]`)),
    filters: routeFilters(o.filters, `${path}.filters`),
    retry: routeRetry(o.retry, `${path}.retry`),
  };
  // proto3 `optional`: present only when set, so 0 stays "off" and absent means "the Service's policy".
  if (set(o.requestTimeoutMs)) {
    out.requestTimeoutMs = u32(o.requestTimeoutMs);
    out._requestTimeoutMs = "requestTimeoutMs";
  }
  if (set(o.backendRequestTimeoutMs)) {
    out.backendRequestTimeoutMs = u32(o.backendRequestTimeoutMs);
    out._backendRequestTimeoutMs = "backendRequestTimeoutMs";
  }
  return out;
}

function routeMatch(v: unknown, path: string): RouteMatch__Output {
  const o = obj(v, path) ?? {};
  const p = obj(o.path, `${path}.path`);
  const g = obj(o.grpc, `${path}.grpc`);
  return {
    port: u32(o.port),
    rule: u32(o.rule),
    path: p ? { type: enumOf(PATH_MATCH_TYPES, p.type), value: str(p.value) } : null,
    method: str(o.method),
    headers: list(o.headers, `${path}.headers`).map((h, i) => valueMatch(h, `${path}.headers[${i}]`)),
    queryParams: list(o.queryParams, `${path}.queryParams`).map((q, i) => valueMatch(q, `${path}.queryParams[${i}]`)),
    grpc: g ? { service: str(g.service), method: str(g.method), regex: bool(g.regex) } : null,
  };
}

function serviceRoutes(v: unknown, path: string): ServiceRoutes__Output {
  const o = obj(v, path) ?? {};
  return {
    service: str(o.service),
    rules: list(o.rules, `${path}.rules`).map((r, i) => routeRule(r, `${path}.rules[${i}]`)),
    matches: list(o.matches, `${path}.matches`).map((m, i) => routeMatch(m, `${path}.matches[${i}]`)),
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
      routes: list(o.routes, "routes").map((r, i) => serviceRoutes(r, `routes[${i}]`)),
      removedRoutes: list(o.removedRoutes, "removedRoutes").map(str),
    });
  } catch (err) {
    return fail("bad-json", `not a weft.discovery.v1.Snapshot: ${err instanceof Bad ? err.message : String(err)}`);
  }
}
