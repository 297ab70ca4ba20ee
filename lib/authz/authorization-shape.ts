// An Authorization with every field present. The protobuf decoder fills
// unset fields in (--defaults), but an Authorization can also come from a
// static JSON snapshot, a test or `weft authz check`, where an unset list is
// simply missing: compiling reads this complete form, so a missing field
// means its default ("no condition") and can never throw mid-request.
import type { Authorization, Authorization__Output } from "../../api/gen/weft/discovery/v1/Authorization.ts";
import type { AuthorizationOperation, AuthorizationOperation__Output } from "../../api/gen/weft/discovery/v1/AuthorizationOperation.ts";
import type { AuthorizationPolicy, AuthorizationPolicy__Output } from "../../api/gen/weft/discovery/v1/AuthorizationPolicy.ts";
import type { AuthorizationSource, AuthorizationSource__Output } from "../../api/gen/weft/discovery/v1/AuthorizationSource.ts";

const list = <T>(v: T[] | null | undefined): T[] => (Array.isArray(v) ? v : []);

function source(s: AuthorizationSource): AuthorizationSource__Output {
  return {
    identities: list(s.identities), notIdentities: list(s.notIdentities),
    namespaces: list(s.namespaces), notNamespaces: list(s.notNamespaces),
    serviceAccounts: list(s.serviceAccounts), notServiceAccounts: list(s.notServiceAccounts),
    unauthenticated: s.unauthenticated === true,
  };
}

function operation(o: AuthorizationOperation): AuthorizationOperation__Output {
  return {
    ports: list(o.ports), notPorts: list(o.notPorts),
    methods: list(o.methods), notMethods: list(o.notMethods),
    paths: list(o.paths).map((p) => ({ ...p })), notPaths: list(o.notPaths).map((p) => ({ ...p })),
    hosts: list(o.hosts), notHosts: list(o.notHosts),
    grpc: list(o.grpc).map((g) => ({ service: g.service ?? "", method: g.method ?? "" })),
  };
}

function policy(p: AuthorizationPolicy): AuthorizationPolicy__Output {
  return {
    name: p.name ?? "",
    action: (p.action ?? "AUTHORIZATION_ACTION_UNSPECIFIED") as AuthorizationPolicy__Output["action"],
    ports: list(p.ports),
    rules: list(p.rules).map((r) => ({ from: list(r.from).map(source), to: list(r.to).map(operation) })),
  };
}

export function completeAuthorization(a: Authorization | Authorization__Output): Authorization__Output {
  return {
    defaultPolicy: (a.defaultPolicy ?? "DEFAULT_INBOUND_POLICY_UNSPECIFIED") as Authorization__Output["defaultPolicy"],
    defaultDryRun: a.defaultDryRun === true,
    policies: list(a.policies as AuthorizationPolicy[] | undefined).map(policy),
    trustDomain: a.trustDomain ?? "",
  };
}
