// Checks one AuthorizationPolicy as the wire carries it and turns its rules
// into the matchers of evaluate-match.ts. Anything a proxy could not enforce
// exactly as written is refused here, naming the policy and the field, so the
// proxy NACKs the snapshot and keeps its last good set instead of guessing.
import type { AuthorizationOperation__Output } from "../../api/gen/weft/discovery/v1/AuthorizationOperation.ts";
import type { AuthorizationPolicy__Output } from "../../api/gen/weft/discovery/v1/AuthorizationPolicy.ts";
import type { AuthorizationSource__Output } from "../../api/gen/weft/discovery/v1/AuthorizationSource.ts";
import type { PathMatch__Output } from "../../api/gen/weft/discovery/v1/PathMatch.ts";
import { fail, ok, type Result } from "../result.ts";
import type { HostSet, IdPattern, OperationMatcher, PathSet, SourceMatcher } from "./evaluate-match.ts";

export type PolicyAction = "ALLOW" | "DENY" | "AUDIT";

export interface CompiledRule {
  /** Empty: any caller, plaintext included. */
  readonly from: readonly SourceMatcher[];
  /** Empty: any request. */
  readonly to: readonly OperationMatcher[];
}

export interface CompiledPolicy {
  readonly name: string;
  readonly action: PolicyAction;
  /** Empty: every port. */
  readonly ports: readonly number[];
  readonly rules: readonly CompiledRule[];
}

export type CompileCode =
  | "bad-policy-name"
  | "bad-action"
  | "bad-port"
  | "bad-source"
  | "bad-identity"
  | "bad-namespace"
  | "bad-service-account"
  | "bad-method"
  | "bad-path"
  | "bad-host"
  | "bad-grpc"
  | "bad-default";

type Compiled<T> = Result<T, CompileCode>;

const ACTIONS: ReadonlySet<string> = new Set<PolicyAction>(["ALLOW", "DENY", "AUDIT"]);
const SPIFFE = "spiffe://";
const NAMESPACE = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const SERVICE_ACCOUNT = /^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$/;
// An RFC 9110 token.
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A hostname, or an IP literal (v6 in brackets); "*" only as a leading "*." label.
const HOST = /^(?:\*\.)?(?:[a-z0-9_](?:[-a-z0-9_]*[a-z0-9_])?)(?:\.[a-z0-9_](?:[-a-z0-9_]*[a-z0-9_])?)*$|^\[[0-9a-f:.]+\]$/;
const GRPC_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

export function compilePolicy(policy: AuthorizationPolicy__Output, index: number): Compiled<CompiledPolicy> {
  if (policy.name === "") return fail("bad-policy-name", `policies[${index}] has no name`);
  const where = `policy "${policy.name}"`;
  if (!ACTIONS.has(policy.action)) return fail("bad-action", `${where}: action ${policy.action} is not ALLOW, DENY or AUDIT`);
  const ports = checkPorts(policy.ports, `${where} ports`);
  if (!ports.ok) return ports;
  const rules: CompiledRule[] = [];
  for (const [r, rule] of policy.rules.entries()) {
    const from: SourceMatcher[] = [];
    for (const [f, source] of rule.from.entries()) {
      const compiled = compileSource(source, `${where} rules[${r}].from[${f}]`);
      if (!compiled.ok) return compiled;
      from.push(compiled.value);
    }
    const to: OperationMatcher[] = [];
    for (const [t, operation] of rule.to.entries()) {
      const compiled = compileOperation(operation, `${where} rules[${r}].to[${t}]`);
      if (!compiled.ok) return compiled;
      to.push(compiled.value);
    }
    rules.push({ from, to });
  }
  return ok({ name: policy.name, action: policy.action as PolicyAction, ports: ports.value ?? [], rules });
}

function checkPorts(ports: readonly number[], where: string): Compiled<number[] | null> {
  for (const port of ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) return fail("bad-port", `${where}: ${port} is not a port (1-65535)`);
  }
  return ok(ports.length === 0 ? null : [...new Set(ports)]);
}

/** Values of one field, each checked; null when the field is unset. */
function checkEach<T>(values: readonly string[], check: (value: string) => Compiled<T>): Compiled<T[] | null> {
  if (values.length === 0) return ok(null);
  const out: T[] = [];
  for (const value of values) {
    const checked = check(value);
    if (!checked.ok) return checked;
    out.push(checked.value);
  }
  return ok(out);
}

function compileSource(source: AuthorizationSource__Output, where: string): Compiled<SourceMatcher> {
  if (source.unauthenticated) {
    const combined = (["identities", "notIdentities", "namespaces", "notNamespaces", "serviceAccounts", "notServiceAccounts"] as const).filter((f) => source[f].length > 0);
    if (combined.length > 0) return fail("bad-source", `${where}: unauthenticated cannot be combined with ${combined.join(", ")} (a plaintext caller has no identity)`);
  }
  const identities = checkEach(source.identities, (v) => identityPattern(v, `${where}.identities`));
  if (!identities.ok) return identities;
  const notIdentities = checkEach(source.notIdentities, (v) => identityPattern(v, `${where}.notIdentities`));
  if (!notIdentities.ok) return notIdentities;
  const namespaces = checkEach(source.namespaces, (v) => namespace(v, `${where}.namespaces`));
  if (!namespaces.ok) return namespaces;
  const notNamespaces = checkEach(source.notNamespaces, (v) => namespace(v, `${where}.notNamespaces`));
  if (!notNamespaces.ok) return notNamespaces;
  const serviceAccounts = checkEach(source.serviceAccounts, (v) => serviceAccount(v, `${where}.serviceAccounts`));
  if (!serviceAccounts.ok) return serviceAccounts;
  const notServiceAccounts = checkEach(source.notServiceAccounts, (v) => serviceAccount(v, `${where}.notServiceAccounts`));
  if (!notServiceAccounts.ok) return notServiceAccounts;
  return ok({
    unauthenticated: source.unauthenticated,
    anyIdentity: source.identities.includes("*"),
    identities: identities.value,
    notIdentities: notIdentities.value,
    namespaces: namespaces.value,
    notNamespaces: notNamespaces.value,
    serviceAccounts: serviceAccounts.value,
    notServiceAccounts: notServiceAccounts.value,
  });
}

const ANY_ID: IdPattern = { exact: null, segments: [] };

function identityPattern(value: string, where: string): Compiled<IdPattern> {
  if (value === "*") return ok(ANY_ID);
  if (!value.startsWith(SPIFFE)) return fail("bad-identity", `${where}: "${value}" is not a spiffe:// id or "*"`);
  const segments = value.slice(SPIFFE.length).split("/");
  for (const segment of segments) {
    if (segment === "") return fail("bad-identity", `${where}: "${value}" has an empty path segment`);
    if (segment !== "*" && segment.includes("*")) return fail("bad-identity", `${where}: "${value}": "*" must stand for a whole path segment`);
  }
  return ok(segments.includes("*") ? { exact: null, segments } : { exact: value, segments });
}

function namespace(value: string, where: string): Compiled<string> {
  return NAMESPACE.test(value) ? ok(value) : fail("bad-namespace", `${where}: "${value}" is not a namespace name`);
}

function serviceAccount(value: string, where: string): Compiled<string> {
  const slash = value.indexOf("/");
  const ns = value.slice(0, slash);
  const sa = value.slice(slash + 1);
  if (slash < 0 || !NAMESPACE.test(ns) || !SERVICE_ACCOUNT.test(sa)) return fail("bad-service-account", `${where}: "${value}" is not "<namespace>/<serviceaccount>"`);
  return ok(value);
}

function compileOperation(operation: AuthorizationOperation__Output, where: string): Compiled<OperationMatcher> {
  const ports = checkPorts(operation.ports, `${where}.ports`);
  if (!ports.ok) return ports;
  const notPorts = checkPorts(operation.notPorts, `${where}.notPorts`);
  if (!notPorts.ok) return notPorts;
  const methods = checkEach(operation.methods, (v) => method(v, `${where}.methods`));
  if (!methods.ok) return methods;
  const notMethods = checkEach(operation.notMethods, (v) => method(v, `${where}.notMethods`));
  if (!notMethods.ok) return notMethods;
  const paths = pathSet(operation.paths, `${where}.paths`);
  if (!paths.ok) return paths;
  const notPaths = pathSet(operation.notPaths, `${where}.notPaths`);
  if (!notPaths.ok) return notPaths;
  const hosts = hostSet(operation.hosts, `${where}.hosts`);
  if (!hosts.ok) return hosts;
  const notHosts = hostSet(operation.notHosts, `${where}.notHosts`);
  if (!notHosts.ok) return notHosts;
  const grpcExact: string[] = [];
  const grpcService: string[] = [];
  for (const [i, call] of operation.grpc.entries()) {
    if (!GRPC_NAME.test(call.service)) return fail("bad-grpc", `${where}.grpc[${i}]: service "${call.service}" is not a fully qualified gRPC service name`);
    if (call.method !== "" && !GRPC_NAME.test(call.method)) return fail("bad-grpc", `${where}.grpc[${i}]: method "${call.method}" is not a gRPC method name`);
    if (call.method === "") grpcService.push(`/${call.service}/`);
    else grpcExact.push(`/${call.service}/${call.method}`);
  }
  const grpc = operation.grpc.length > 0;
  return ok({
    ports: ports.value,
    notPorts: notPorts.value,
    http: methods.value !== null || notMethods.value !== null || paths.value !== null || notPaths.value !== null || hosts.value !== null || notHosts.value !== null || grpc,
    methods: methods.value,
    notMethods: notMethods.value,
    paths: paths.value,
    notPaths: notPaths.value,
    hosts: hosts.value,
    notHosts: notHosts.value,
    grpcExact: grpc && grpcExact.length > 0 ? grpcExact : null,
    grpcService: grpc && grpcService.length > 0 ? grpcService : null,
  });
}

function method(value: string, where: string): Compiled<string> {
  // The proxy upper-cases the request's method; the policy's is compared the same way.
  return METHOD.test(value) ? ok(value.toUpperCase()) : fail("bad-method", `${where}: "${value}" is not an HTTP method`);
}

function pathSet(matches: readonly PathMatch__Output[], where: string): Compiled<PathSet | null> {
  if (matches.length === 0) return ok(null);
  const exact: string[] = [];
  const prefix: string[] = [];
  for (const [i, match] of matches.entries()) {
    const kind = match.match ?? (match.exact !== undefined ? "exact" : match.prefix !== undefined ? "prefix" : undefined);
    const value = kind === "exact" ? match.exact : kind === "prefix" ? match.prefix : undefined;
    if (kind === undefined || value === undefined) return fail("bad-path", `${where}[${i}]: neither exact nor prefix is set`);
    if (!value.startsWith("/")) return fail("bad-path", `${where}[${i}]: ${kind} "${value}" does not start with "/"`);
    if (value.includes("?")) return fail("bad-path", `${where}[${i}]: ${kind} "${value}" holds a query string, which paths never include`);
    (kind === "exact" ? exact : prefix).push(value);
  }
  return ok({ exact, prefix });
}

function hostSet(hosts: readonly string[], where: string): Compiled<HostSet | null> {
  if (hosts.length === 0) return ok(null);
  const exact: string[] = [];
  const suffix: string[] = [];
  for (const raw of hosts) {
    // Hosts compare case-insensitively: the proxy lower-cases the request's.
    const host = raw.toLowerCase();
    if (!HOST.test(host)) return fail("bad-host", `${where}: "${raw}" is not a host name without port, or "*.suffix"`);
    if (host.startsWith("*.")) suffix.push(host.slice(1));
    else exact.push(host);
  }
  return ok({ exact, suffix });
}
