// What the authorization evaluator's tests share: builders for wire-shaped
// policies and requests, and the naive reference evaluator, written straight
// from docs/authorization.md, that the indexed one is checked against.
import assert from "node:assert/strict";
import type { Authorization__Output } from "../../api/gen/weft/discovery/v1/Authorization.ts";
import type { AuthorizationAction__Output } from "../../api/gen/weft/discovery/v1/AuthorizationAction.ts";
import type { AuthorizationOperation__Output } from "../../api/gen/weft/discovery/v1/AuthorizationOperation.ts";
import type { AuthorizationPolicy__Output } from "../../api/gen/weft/discovery/v1/AuthorizationPolicy.ts";
import type { AuthorizationRule__Output } from "../../api/gen/weft/discovery/v1/AuthorizationRule.ts";
import type { AuthorizationSource__Output } from "../../api/gen/weft/discovery/v1/AuthorizationSource.ts";
import type { DefaultInboundPolicy__Output } from "../../api/gen/weft/discovery/v1/DefaultInboundPolicy.ts";
import type { AuthzDecision, AuthzHttp, AuthzRequest } from "../../lib/authz/decision.ts";
import { compileAuthorization, evaluate, type CompiledAuthorization } from "../../lib/authz/evaluate.ts";
import { parseSpiffeId } from "../../lib/spiffe.ts";

// ------------------------------------------------------------------ builders

export const TD = "cluster.local";
export const id = (ns: string, sa: string, td = TD) => `spiffe://${td}/ns/${ns}/sa/${sa}`;
export const CHECKOUT = id("checkout", "checkout");
export const WEB = id("shop", "web");
export const FOREIGN = id("shop", "web", "other.org");

export function source(fields: Partial<AuthorizationSource__Output> = {}): AuthorizationSource__Output {
  return { identities: [], notIdentities: [], namespaces: [], notNamespaces: [], serviceAccounts: [], notServiceAccounts: [], unauthenticated: false, ...fields };
}

export function operation(fields: Partial<AuthorizationOperation__Output> = {}): AuthorizationOperation__Output {
  return { ports: [], notPorts: [], methods: [], notMethods: [], paths: [], notPaths: [], hosts: [], notHosts: [], grpc: [], ...fields };
}

export function rule(from: Partial<AuthorizationSource__Output>[] = [], to: Partial<AuthorizationOperation__Output>[] = []): AuthorizationRule__Output {
  return { from: from.map(source), to: to.map(operation) };
}

export function policy(name: string, action: AuthorizationAction__Output, rules: AuthorizationRule__Output[], ports: number[] = []): AuthorizationPolicy__Output {
  return { name, action, ports, rules };
}

export function authz(policies: AuthorizationPolicy__Output[], defaultPolicy: DefaultInboundPolicy__Output = "DEFAULT_ALL_AUTHENTICATED", defaultDryRun = false): Authorization__Output {
  return { defaultPolicy, defaultDryRun, policies, trustDomain: TD };
}

export function compiled(authorization: Authorization__Output): CompiledAuthorization {
  const result = compileAuthorization(authorization);
  assert.ok(result.ok, result.ok ? "" : result.message);
  return result.value;
}

export function http(method = "GET", path = "/", host = "shop.example.com", grpc = false): AuthzHttp {
  return { method, path, host, grpc };
}

export function req(peer: string | null, h: AuthzHttp = http(), port = 8080): AuthzRequest {
  return { port, peer, http: h };
}

/** An opaque TCP connection: a port and a caller, nothing else. */
export function tcp(peer: string | null, port = 8080): AuthzRequest {
  return { port, peer };
}

// ------------------------------------------------------ the naive reference
//
// The semantics read straight off docs/authorization.md and the proto, with no
// index and no shortcut: the fast evaluator must decide exactly as this does.

export function naiveIdMatch(pattern: string, peer: string): boolean {
  if (pattern === "*") return true;
  if (!pattern.includes("*")) return pattern === peer;
  if (!peer.startsWith("spiffe://")) return false;
  const want = pattern.slice("spiffe://".length).split("/");
  const have = peer.slice("spiffe://".length).split("/");
  return want.length === have.length && want.every((w, i) => (w === "*" ? have[i] !== "" : w === have[i]));
}

export function naiveSource(s: AuthorizationSource__Output, peer: string | null): boolean {
  if (s.unauthenticated) return peer === null;
  if (peer === null) return false;
  const parsed = parseSpiffeId(peer);
  const ns = parsed.ok ? parsed.value.namespace : null;
  const sa = parsed.ok ? `${parsed.value.namespace}/${parsed.value.serviceAccount}` : null;
  if (s.identities.length > 0 && !s.identities.some((p) => naiveIdMatch(p, peer))) return false;
  if (s.notIdentities.some((p) => naiveIdMatch(p, peer))) return false;
  if (s.namespaces.length > 0 && (ns === null || !s.namespaces.includes(ns))) return false;
  if (s.notNamespaces.length > 0 && (ns === null || s.notNamespaces.includes(ns))) return false;
  if (s.serviceAccounts.length > 0 && (sa === null || !s.serviceAccounts.includes(sa))) return false;
  if (s.notServiceAccounts.length > 0 && (sa === null || s.notServiceAccounts.includes(sa))) return false;
  return true;
}

export function naiveOperation(o: AuthorizationOperation__Output, r: AuthzRequest, denying: boolean): boolean {
  if (o.ports.length > 0 && !o.ports.includes(r.port)) return false;
  if (o.notPorts.includes(r.port)) return false;
  const httpFields = [o.methods, o.notMethods, o.paths, o.notPaths, o.hosts, o.notHosts, o.grpc].some((f) => f.length > 0);
  if (r.http === undefined) return !httpFields || denying;
  const h = r.http;
  const path = (m: { exact?: string; prefix?: string }) => (m.exact !== undefined ? h.path === m.exact : h.path.startsWith(m.prefix!));
  const host = (pattern: string) => {
    const p = pattern.toLowerCase();
    return p.startsWith("*.") ? h.host.endsWith(p.slice(1)) && h.host.length > p.length - 1 : h.host === p;
  };
  if (o.methods.length > 0 && !o.methods.some((m) => m.toUpperCase() === h.method)) return false;
  if (o.notMethods.some((m) => m.toUpperCase() === h.method)) return false;
  if (o.paths.length > 0 && !o.paths.some(path)) return false;
  if (o.notPaths.some(path)) return false;
  if (o.hosts.length > 0 && !o.hosts.some(host)) return false;
  if (o.notHosts.some(host)) return false;
  if (o.grpc.length > 0) {
    const call = h.path.split("/");
    const ok = h.grpc && call.length === 3 && call[0] === "" && call[2] !== "" && o.grpc.some((g) => call[1] === g.service && (g.method === "" || g.method === call[2]));
    if (!ok) return false;
  }
  return true;
}

export function naiveMatches(p: AuthorizationPolicy__Output, r: AuthzRequest): boolean {
  return p.rules.some(
    (ru) => (ru.from.length === 0 || ru.from.some((s) => naiveSource(s, r.peer))) && (ru.to.length === 0 || ru.to.some((o) => naiveOperation(o, r, p.action === "DENY"))),
  );
}

export const DEFAULT_NAMES: Record<DefaultInboundPolicy__Output, string> = {
  DEFAULT_INBOUND_POLICY_UNSPECIFIED: "all-authenticated",
  DEFAULT_ALL_AUTHENTICATED: "all-authenticated",
  DEFAULT_CLUSTER_AUTHENTICATED: "cluster-authenticated",
  DEFAULT_ALL_UNAUTHENTICATED: "all-unauthenticated",
  DEFAULT_DENY: "deny",
};

export function naiveEvaluate(a: Authorization__Output, r: AuthzRequest): AuthzDecision {
  const inScope = a.policies.filter((p) => p.ports.length === 0 || p.ports.includes(r.port));
  const audited = inScope.filter((p) => p.action === "AUDIT" && naiveMatches(p, r)).map((p) => p.name);
  const out = (allowed: boolean, kind: AuthzDecision["kind"], policy: string, dryRunRefusal: string | null = null): AuthzDecision => ({ allowed, kind, policy, audited, dryRunRefusal });
  const deny = inScope.find((p) => p.action === "DENY" && naiveMatches(p, r));
  if (deny) return out(false, "deny-policy", deny.name);
  const allows = inScope.filter((p) => p.action === "ALLOW");
  if (allows.length > 0) {
    const match = allows.find((p) => naiveMatches(p, r));
    return match ? out(true, "allow-policy", match.name) : out(false, "no-allow-match", allows[0]!.name);
  }
  const name = `default:${DEFAULT_NAMES[a.defaultPolicy]}`;
  const td = r.peer?.startsWith("spiffe://") ? r.peer.slice("spiffe://".length).split("/")[0] : undefined;
  const admits = {
    DEFAULT_INBOUND_POLICY_UNSPECIFIED: r.peer !== null,
    DEFAULT_ALL_AUTHENTICATED: r.peer !== null,
    DEFAULT_CLUSTER_AUTHENTICATED: td === a.trustDomain,
    DEFAULT_ALL_UNAUTHENTICATED: true,
    DEFAULT_DENY: false,
  }[a.defaultPolicy];
  if (admits) return out(true, "default", name);
  return a.defaultDryRun ? out(true, "default", name, name) : out(false, "default", name);
}

/** Both evaluators on one request: they must agree, and the fast one's answer is returned. */
export function decide(a: Authorization__Output, r: AuthzRequest): AuthzDecision {
  const fast = evaluate(compiled(a), r);
  assert.deepEqual({ ...fast, audited: [...fast.audited] }, naiveEvaluate(a, r));
  return fast;
}
