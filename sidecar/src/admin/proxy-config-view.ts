// What `weft proxy-config` shows of one proxy, as plain JSON built by pure
// functions of the proxy's state: the snapshot's Services with each endpoint's
// balancer state, the policy, the certificate chain's public facts and the
// effective configuration. Only public material goes in: the certificates'
// metadata (never a PEM, never a key) and a configuration with inline PEMs
// dropped, because /proxy-config/* is what a user with pods/portforward reads.
import { X509Certificate } from "node:crypto";
import type { MeshState } from "../discovery/mesh-state.ts";

/** The balancer's per-endpoint state as the root hands it over (outbound/ stays out of admin/'s imports). */
export interface EndpointLoadView {
  ewmaMs: number;
  inflight: number;
  breaker: { kind: "closed"; consecutiveFailures: number; ejections: number } | { kind: "ejected"; until: number; ejections: number } | { kind: "probing"; ejections: number };
}

export interface EndpointRow {
  address: string;
  port: string;
  portNumber: number;
  ready: boolean;
  identity: string;
  zone: string;
  ewmaMs: number | null;
  inflight: number;
  breaker: "closed" | "ejected" | "probing";
  ejectedForMs: number | null;
  consecutiveFailures: number;
}

export interface ServiceRow {
  service: string;
  clusterIps: string[];
  endpoints: EndpointRow[];
}

export interface CertificateRow {
  spiffeId: string;
  subject: string;
  serial: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  expiresInSeconds: number;
}

/** Services sorted by namespace/name, endpoints by address then port: people diff these. */
export function endpointsView(state: MeshState | undefined, loads: ReadonlyMap<string, EndpointLoadView>, now: number): { version: string | null; services: ServiceRow[] } {
  if (!state) return { version: null, services: [] };
  const services: ServiceRow[] = [];
  for (const key of [...state.services.keys()].sort()) {
    const s = state.services.get(key);
    if (!s) continue;
    const endpoints: EndpointRow[] = [];
    for (const e of s.endpoints) {
      for (const [port, portNumber] of Object.entries(e.ports)) {
        const load = loads.get(`${e.address}:${portNumber}`);
        const breaker = load?.breaker;
        endpoints.push({
          address: e.address,
          port,
          portNumber,
          ready: e.ready !== false,
          identity: e.identity,
          zone: e.zone,
          // null: no request has gone to it yet, so the balancer holds no measurement.
          ewmaMs: load ? Math.round(load.ewmaMs * 100) / 100 : null,
          inflight: load?.inflight ?? 0,
          breaker: breaker?.kind ?? "closed",
          ejectedForMs: breaker?.kind === "ejected" ? Math.max(0, Math.round(breaker.until - now)) : null,
          consecutiveFailures: breaker?.kind === "closed" ? breaker.consecutiveFailures : 0,
        });
      }
    }
    endpoints.sort((a, b) => a.address.localeCompare(b.address) || a.portNumber - b.portNumber);
    services.push({ service: key, clusterIps: [...s.clusterIps], endpoints });
  }
  return { version: state.version, services };
}

export function policyView(state: MeshState | undefined): { version: string | null; policy: unknown } {
  return { version: state?.version ?? null, policy: state?.policy ?? null };
}

/** One match of a Service's routes, in the order the proxy tries them (first match wins). */
export interface RouteRow {
  service: string;
  /** The Service port the route's parent names; 0 = every port. */
  port: number;
  /** The match's conditions, as the route wrote them ("PREFIX /api", "GET", "header x-canary=1", ...). */
  match: string;
  route: string;
  rule: string;
  /** "namespace/name:port weight" per backend; "invalid" marks one that did not resolve. */
  backends: string[];
}

export function routesView(state: MeshState | undefined): { version: string | null; routes: RouteRow[] } {
  const rows: RouteRow[] = [];
  for (const key of [...(state?.routes.keys() ?? [])].sort()) {
    const routes = state?.routes.get(key);
    if (!routes) continue;
    for (const m of routes.matches) {
      const rule = routes.rules[m.rule];
      const conditions: string[] = [];
      if (m.path && m.path.type !== "ANY") conditions.push(`${m.path.type} ${m.path.value}`);
      if (m.method) conditions.push(m.method);
      for (const h of m.headers) conditions.push(`header ${h.name}${h.regex ? "~" : "="}${h.value}`);
      for (const q of m.queryParams) conditions.push(`query ${q.name}${q.regex ? "~" : "="}${q.value}`);
      if (m.grpc) conditions.push(`grpc ${m.grpc.service || "*"}/${m.grpc.method || "*"}`);
      rows.push({
        service: routes.service,
        port: m.port,
        match: conditions.join(" ") || "any",
        route: rule?.route ?? "",
        rule: rule?.name ?? "",
        backends: (rule?.backends ?? []).map((b) => `${b.service}${b.port ? `:${b.port}` : ""} ${b.weight}${b.invalid ? " invalid" : ""}`),
      });
    }
  }
  return { version: state?.version ?? null, routes: rows };
}

function spiffeOf(cert: X509Certificate): string {
  const uri = (cert.subjectAltName ?? "").split(/,\s*/).find((n) => n.startsWith("URI:spiffe://"));
  return uri ? uri.slice(4) : "";
}

/** Each certificate of the chain, leaf first; unparseable PEM blocks are skipped rather than failing the page. */
export function certificatesView(chainPem: string | undefined, nowMs: number): CertificateRow[] {
  if (!chainPem) return [];
  const blocks = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const rows: CertificateRow[] = [];
  for (const pem of blocks) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch {
      continue;
    }
    const notAfter = new Date(cert.validTo);
    rows.push({
      spiffeId: spiffeOf(cert),
      subject: (cert.subject ?? "").replace(/\n/g, ", "),
      serial: cert.serialNumber.toLowerCase(),
      issuer: (cert.issuer ?? "").replace(/\n/g, ", "),
      notBefore: new Date(cert.validFrom).toISOString(),
      notAfter: notAfter.toISOString(),
      expiresInSeconds: Math.round((notAfter.getTime() - nowMs) / 1000),
    });
  }
  return rows;
}

/** Keys whose values are never shown, at any depth: key material, and inline PEMs (public, but long), probe headers (they may carry credentials). */
const HIDDEN = /key|token|secret|password|pem|httpheaders/i;

/** The configuration with secrets' and keys' values replaced; Maps and Sets become arrays, so JSON shows them. */
export function bootstrapView(config: unknown): unknown {
  const walk = (value: unknown, key: string): unknown => {
    if (HIDDEN.test(key) && !/file|path/i.test(key) && value !== undefined) return "(hidden)";
    if (value instanceof Map) return Object.fromEntries([...value.entries()].map(([k, v]) => [String(k), walk(v, String(k))]));
    if (value instanceof Set) return [...value.values()].map((v) => walk(v, ""));
    if (Array.isArray(value)) return value.map((v) => walk(v, ""));
    if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
    return value;
  };
  return walk(config, "");
}
