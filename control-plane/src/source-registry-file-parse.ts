// The local registry file (docs/discovery.md, "Local registry file"): YAML that
// lists Services and their endpoints, parsed into the same MeshModel the
// Kubernetes source produces. Pure; every refusal names the file, line and
// column and the path of the offending field.
//
// Authorization in local mode (docs/authorization.md, "Local mode"): policies
// in the CRD's own shape, a mesh-wide default, and per-namespace defaults.
// There are no pods, so a proxy's workload (its Hello.workload) is a pod
// without labels: namespace-wide policies select it, selectors only as they
// would select an unlabelled pod, and Service targets when an endpoint of the
// Service names it in `pod` ("<namespace>/<workload>").
import { isIP } from "node:net";
import { LineCounter, parseDocument, type Document } from "yaml";
import type { Endpoint } from "../../api/gen/weft/discovery/v1/Endpoint.ts";
import type { ServicePort } from "../../api/gen/weft/discovery/v1/ServicePort.ts";
import { MESH_DEFAULT_POLICY, parseDefaultPolicy, type DefaultPolicy } from "../../lib/authz/default-policy.ts";
import { parseAuthorizationPolicy } from "../../lib/authz/spec-parse.ts";
import type { AuthzPolicySpec } from "../../lib/authz/spec.ts";
import { parseDuration } from "../../lib/duration.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { formatSpiffeId, parseSpiffeId, validateIdentity } from "../../lib/spiffe.ts";
import { emptyInbound, serviceKey, type MeshModel, type NamespaceModel, type ServiceModel } from "./mesh-state.ts";
import { parseInboundModeAnnotation } from "../../lib/authz/default-policy.ts";
import { POLICY_DURATION } from "./policy-annotations.ts";
import type { ClientOverride, RetrySettings } from "./policy-defaults.ts";

type Path = (string | number)[];
type Json = unknown;

class Invalid extends Error {}

interface Ctx {
  doc: Document;
  lines: LineCounter;
  file: string;
}

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `meshDefault`: the control plane's --default-inbound-policy; the file's defaultInboundPolicy wins over it. */
export function parseRegistryFile(text: string, file = "registry.yaml", trustDomainDefault = "cluster.local", meshDefault: DefaultPolicy = MESH_DEFAULT_POLICY): Result<MeshModel, "registry-invalid"> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    return fail("registry-invalid", `${file}:${pos ? `${pos.line}:${pos.col}` : "?"}: ${(first.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}`);
  }
  const ctx: Ctx = { doc, lines, file };
  try {
    return ok(readMesh(ctx, doc.toJS() ?? {}, trustDomainDefault, meshDefault));
  } catch (err) {
    if (err instanceof Invalid) return fail("registry-invalid", err.message);
    throw err;
  }
}

function where(ctx: Ctx, path: Path): string {
  for (let p = path; ; p = p.slice(0, -1)) {
    const node = ctx.doc.getIn(p, true) as { range?: [number, number, number] } | undefined;
    if (node?.range) {
      const pos = ctx.lines.linePos(node.range[0]);
      return `${ctx.file}:${pos.line}:${pos.col}`;
    }
    if (p.length === 0) return `${ctx.file}:1:1`;
  }
}

function invalid(ctx: Ctx, path: Path, message: string): never {
  const dotted = path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("").replace(/^\./, "");
  throw new Invalid(`${where(ctx, path)}: ${dotted || "(document)"}: ${message}`);
}

function obj(ctx: Ctx, v: Json, path: Path, allowed: string[]): Record<string, Json> {
  if (v === null || v === undefined) return {};
  if (typeof v !== "object" || Array.isArray(v)) invalid(ctx, path, "expected a mapping");
  for (const key of Object.keys(v)) if (!allowed.includes(key)) invalid(ctx, [...path, key], `unknown field (expected one of ${allowed.join(", ")})`);
  return v as Record<string, Json>;
}

function list(ctx: Ctx, v: Json, path: Path): Json[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) invalid(ctx, path, "expected a list");
  return v;
}

function str(ctx: Ctx, v: Json, path: Path, fallback?: string): string {
  if ((v === undefined || v === null) && fallback !== undefined) return fallback;
  if (typeof v !== "string" || v.length === 0) invalid(ctx, path, "expected a non-empty string");
  return v;
}

function bool(ctx: Ctx, v: Json, path: Path, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") invalid(ctx, path, "expected true or false");
  return v;
}

function int(ctx: Ctx, v: Json, path: Path, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) invalid(ctx, path, `expected an integer from ${min} to ${max}`);
  return v;
}

function name(ctx: Ctx, v: Json, path: Path): string {
  const s = str(ctx, v, path);
  if (!NAME.test(s)) invalid(ctx, path, `"${s}" is not a valid Kubernetes name (lowercase letters, digits, '-')`);
  return s;
}

function duration(ctx: Ctx, v: Json, path: Path): number {
  const ms = parseDuration(String(v), POLICY_DURATION);
  if (!ms.ok) invalid(ctx, path, `expected a duration such as "10s" or "500ms": ${ms.message}`);
  return ms.value;
}

function defaultPolicy(ctx: Ctx, v: Json, path: Path): DefaultPolicy {
  const parsed = parseDefaultPolicy(str(ctx, v, path));
  if (!parsed.ok) invalid(ctx, path, parsed.message);
  return parsed.value;
}

function readMesh(ctx: Ctx, root: Json, trustDomainDefault: string, meshDefault: DefaultPolicy): MeshModel {
  const top = obj(ctx, root, [], ["trustDomain", "defaults", "namespaces", "services", "defaultInboundPolicy", "authorizationPolicies"]);
  const trustDomain = str(ctx, top.trustDomain, ["trustDomain"], trustDomainDefault);
  const namespaces = new Map<string, NamespaceModel>();
  list(ctx, top.namespaces, ["namespaces"]).forEach((n, i) => {
    const ns = readNamespace(ctx, n, ["namespaces", i]);
    if (namespaces.has(ns.name)) invalid(ctx, ["namespaces", i, "name"], `namespace ${ns.name} is listed twice`);
    namespaces.set(ns.name, ns);
  });
  const services = new Map<string, ServiceModel>();
  list(ctx, top.services, ["services"]).forEach((s, i) => {
    const svc = readService(ctx, s, ["services", i], trustDomain);
    const key = serviceKey(svc.namespace, svc.name);
    if (services.has(key)) invalid(ctx, ["services", i, "name"], `service ${key} is listed twice`);
    services.set(key, svc);
    // In local mode every namespace a Service names is part of the mesh unless listed otherwise.
    if (!namespaces.has(svc.namespace)) namespaces.set(svc.namespace, { name: svc.namespace, meshEnabled: true, inbound: emptyInbound() });
  });
  const clientDefaults = top.defaults === undefined ? null : readClientPolicy(ctx, top.defaults, ["defaults"]);
  const policies: AuthzPolicySpec[] = [];
  const seen = new Set<string>();
  list(ctx, top.authorizationPolicies, ["authorizationPolicies"]).forEach((p, i) => {
    const path = ["authorizationPolicies", i];
    // Unlike the Kubernetes source, a bad policy refuses the whole file: the last good model stays.
    const parsed = parseAuthorizationPolicy(p);
    if (!parsed.ok) invalid(ctx, path, parsed.message);
    const key = `${parsed.value.namespace}/${parsed.value.name}`;
    if (seen.has(key)) invalid(ctx, [...path, "metadata", "name"], `authorization policy ${key} is listed twice`);
    seen.add(key);
    policies.push(parsed.value);
  });
  const meshDefaultHere = top.defaultInboundPolicy === undefined ? meshDefault : defaultPolicy(ctx, top.defaultInboundPolicy, ["defaultInboundPolicy"]);
  return { services, namespaces, clientDefaults, authorization: { policies, meshDefault: meshDefaultHere, trustDomain, pods: null } };
}

function readNamespace(ctx: Ctx, v: Json, path: Path): NamespaceModel {
  const o = obj(ctx, v, path, ["name", "meshed", "inbound"]);
  const inboundObj = obj(ctx, o.inbound, [...path, "inbound"], ["mode", "defaultPolicy", "allowedIdentities", "plaintextPorts"]);
  const inbound = emptyInbound();
  if (inboundObj.defaultPolicy !== undefined) inbound.defaultPolicy = defaultPolicy(ctx, inboundObj.defaultPolicy, [...path, "inbound", "defaultPolicy"]);
  if (inboundObj.mode !== undefined) {
    const mode = parseInboundModeAnnotation(String(inboundObj.mode));
    if (mode === null) invalid(ctx, [...path, "inbound", "mode"], "expected strict or permissive");
    inbound.mode = mode;
  }
  inbound.allowedIdentities = list(ctx, inboundObj.allowedIdentities, [...path, "inbound", "allowedIdentities"]).map((id, i) => {
    const p = [...path, "inbound", "allowedIdentities", i];
    const s = str(ctx, id, p);
    if (!parseSpiffeId(s).ok) invalid(ctx, p, `"${s}" is not a spiffe://<td>/ns/<ns>/sa/<sa> id`);
    return s;
  });
  inbound.plaintextPorts = list(ctx, inboundObj.plaintextPorts, [...path, "inbound", "plaintextPorts"]).map((p, i) => int(ctx, p, [...path, "inbound", "plaintextPorts", i], 1, 65535));
  return { name: name(ctx, o.name, [...path, "name"]), meshEnabled: bool(ctx, o.meshed, [...path, "meshed"], true), inbound };
}

function readService(ctx: Ctx, v: Json, path: Path, trustDomain: string): ServiceModel {
  const o = obj(ctx, v, path, ["namespace", "name", "clusterIps", "headless", "ports", "endpoints", "policy"]);
  const namespace = name(ctx, o.namespace, [...path, "namespace"]);
  const svcName = name(ctx, o.name, [...path, "name"]);
  const clusterIps = list(ctx, o.clusterIps, [...path, "clusterIps"]).map((ip, i) => {
    const s = str(ctx, ip, [...path, "clusterIps", i]);
    if (isIP(s) === 0) invalid(ctx, [...path, "clusterIps", i], `"${s}" is not an IP address`);
    return s;
  });
  const ports: ServicePort[] = list(ctx, o.ports, [...path, "ports"]).map((p, i) => {
    const pp = [...path, "ports", i];
    const po = obj(ctx, p, pp, ["name", "port", "protocol", "appProtocol"]);
    const protocol = str(ctx, po.protocol, [...pp, "protocol"], "TCP");
    if (!["TCP", "UDP", "SCTP"].includes(protocol)) invalid(ctx, [...pp, "protocol"], "expected TCP, UDP or SCTP");
    const appProtocol = str(ctx, po.appProtocol, [...pp, "appProtocol"], "-");
    if (!["-", "http", "http2", "grpc", "opaque"].includes(appProtocol)) invalid(ctx, [...pp, "appProtocol"], "expected http, http2, grpc or opaque");
    return { name: str(ctx, po.name, [...pp, "name"], ""), port: int(ctx, po.port, [...pp, "port"], 1, 65535), protocol, appProtocol: appProtocol === "-" ? "" : appProtocol };
  });
  if (ports.length === 0) invalid(ctx, [...path, "ports"], "a service needs at least one port");
  const portNames = new Set(ports.map((p) => p.name ?? ""));
  if (portNames.size !== ports.length) invalid(ctx, [...path, "ports"], "port names must be unique");
  const endpoints = list(ctx, o.endpoints, [...path, "endpoints"]).map((e, i) => readEndpoint(ctx, e, [...path, "endpoints", i], namespace, ports, trustDomain));
  return {
    namespace,
    name: svcName,
    clusterIps,
    headless: bool(ctx, o.headless, [...path, "headless"], clusterIps.length === 0),
    ports,
    endpoints,
    clientPolicy: o.policy === undefined ? null : readClientPolicy(ctx, o.policy, [...path, "policy"]),
  };
}

function readEndpoint(ctx: Ctx, v: Json, path: Path, svcNamespace: string, ports: ServicePort[], trustDomain: string): Endpoint {
  const o = obj(ctx, v, path, ["address", "port", "ports", "zone", "node", "pod", "ready", "serving", "terminating", "meshed", "identity", "namespace", "serviceAccount"]);
  const address = str(ctx, o.address, [...path, "address"]);
  if (isIP(address) === 0) invalid(ctx, [...path, "address"], `"${address}" is not an IP address`);
  const epPorts: Record<string, number> = {};
  if (o.port !== undefined && o.ports !== undefined) invalid(ctx, [...path, "port"], "give either port or ports, not both");
  if (o.port !== undefined) {
    const port = int(ctx, o.port, [...path, "port"], 1, 65535);
    for (const p of ports) epPorts[p.name ?? ""] = port;
  } else if (o.ports !== undefined) {
    const po = obj(ctx, o.ports, [...path, "ports"], ports.map((p) => p.name ?? ""));
    for (const [k, p] of Object.entries(po)) epPorts[k] = int(ctx, p, [...path, "ports", k], 1, 65535);
  } else {
    for (const p of ports) epPorts[p.name ?? ""] = p.port ?? 0;
  }
  const meshed = bool(ctx, o.meshed, [...path, "meshed"], false);
  let identity = "";
  if (o.identity !== undefined) {
    identity = str(ctx, o.identity, [...path, "identity"]);
    if (!parseSpiffeId(identity).ok) invalid(ctx, [...path, "identity"], `"${identity}" is not a spiffe://<td>/ns/<ns>/sa/<sa> id`);
  } else if (o.serviceAccount !== undefined || meshed) {
    const id = { trustDomain, namespace: str(ctx, o.namespace, [...path, "namespace"], svcNamespace), serviceAccount: str(ctx, o.serviceAccount, [...path, "serviceAccount"], "default") };
    if (!validateIdentity(id).ok) invalid(ctx, [...path, "serviceAccount"], "namespace or serviceAccount is not a valid name");
    identity = formatSpiffeId(id);
  }
  const ready = bool(ctx, o.ready, [...path, "ready"], true);
  return {
    address,
    ports: epPorts,
    zone: str(ctx, o.zone, [...path, "zone"], ""),
    node: str(ctx, o.node, [...path, "node"], ""),
    pod: str(ctx, o.pod, [...path, "pod"], ""),
    ready,
    serving: bool(ctx, o.serving, [...path, "serving"], ready),
    terminating: bool(ctx, o.terminating, [...path, "terminating"], false),
    meshed,
    identity: meshed ? identity : "",
  };
}

function readClientPolicy(ctx: Ctx, v: Json, path: Path): ClientOverride {
  const o = obj(ctx, v, path, ["retry", "responseTimeout", "idleTimeout", "totalTimeout", "requestTimeout", "connectTimeout"]);
  const out: ClientOverride = {};
  // requestTimeout is the response timeout's old name; the new name wins when both are given.
  if (o.requestTimeout !== undefined) out.responseTimeoutMs = duration(ctx, o.requestTimeout, [...path, "requestTimeout"]);
  if (o.responseTimeout !== undefined) out.responseTimeoutMs = duration(ctx, o.responseTimeout, [...path, "responseTimeout"]);
  if (o.idleTimeout !== undefined) out.idleTimeoutMs = duration(ctx, o.idleTimeout, [...path, "idleTimeout"]);
  if (o.totalTimeout !== undefined) out.totalTimeoutMs = duration(ctx, o.totalTimeout, [...path, "totalTimeout"]);
  if (o.connectTimeout !== undefined) out.connectTimeoutMs = duration(ctx, o.connectTimeout, [...path, "connectTimeout"]);
  if (o.retry !== undefined) {
    const rp = [...path, "retry"];
    const r = obj(ctx, o.retry, rp, ["enabled", "maxRetries", "httpStatuses", "grpcStatuses", "budgetRatio", "budgetMinPerSecond", "backoffBase", "backoffMax", "maxBufferedBodyBytes"]);
    const retry: Partial<RetrySettings> = {};
    if (r.enabled !== undefined) retry.enabled = bool(ctx, r.enabled, [...rp, "enabled"], true);
    if (r.maxRetries !== undefined) retry.maxRetries = int(ctx, r.maxRetries, [...rp, "maxRetries"], 0, 10);
    if (r.httpStatuses !== undefined) retry.retryOnHttpStatus = list(ctx, r.httpStatuses, [...rp, "httpStatuses"]).map((s, i) => int(ctx, s, [...rp, "httpStatuses", i], 100, 599));
    if (r.grpcStatuses !== undefined) retry.retryOnGrpcStatus = list(ctx, r.grpcStatuses, [...rp, "grpcStatuses"]).map((s, i) => str(ctx, s, [...rp, "grpcStatuses", i]).toUpperCase());
    if (r.budgetRatio !== undefined) {
      if (typeof r.budgetRatio !== "number" || r.budgetRatio < 0 || r.budgetRatio > 1) invalid(ctx, [...rp, "budgetRatio"], "expected a number from 0 to 1");
      retry.budgetRatio = r.budgetRatio;
    }
    if (r.budgetMinPerSecond !== undefined) retry.budgetMinPerSecond = int(ctx, r.budgetMinPerSecond, [...rp, "budgetMinPerSecond"], 0, 100_000);
    if (r.backoffBase !== undefined) retry.backoffBaseMs = duration(ctx, r.backoffBase, [...rp, "backoffBase"]);
    if (r.backoffMax !== undefined) retry.backoffMaxMs = duration(ctx, r.backoffMax, [...rp, "backoffMax"]);
    if (r.maxBufferedBodyBytes !== undefined) retry.maxBufferedBodyBytes = int(ctx, r.maxBufferedBodyBytes, [...rp, "maxBufferedBodyBytes"], 0, 0xffffffff);
    out.retry = retry;
  }
  return out;
}
