// The matchers of evaluation: one source entry against the caller (once per
// caller, when its plan is built), one operation entry against the request
// (per request and per opaque connection, so it allocates nothing). They take
// the compiled forms evaluate-compile.ts builds.
import { parseSpiffeId } from "../spiffe.ts";
import type { AuthzRequest } from "./decision.ts";

/** One identity pattern: `exact` when it holds no "*", else its segments after "spiffe://". */
export interface IdPattern {
  readonly exact: string | null;
  /** The segments (trust domain first); "*" stands for one non-empty segment. None: a lone "*", any id. */
  readonly segments: readonly string[];
}

/** An AuthorizationSource entry, checked: null = the field is unset. */
export interface SourceMatcher {
  readonly unauthenticated: boolean;
  /** True when `identities` holds a lone "*": any mesh id satisfies the field. */
  readonly anyIdentity: boolean;
  readonly identities: readonly IdPattern[] | null;
  readonly notIdentities: readonly IdPattern[] | null;
  readonly namespaces: readonly string[] | null;
  readonly notNamespaces: readonly string[] | null;
  /** "ns/sa". */
  readonly serviceAccounts: readonly string[] | null;
  readonly notServiceAccounts: readonly string[] | null;
}

/** An AuthorizationOperation entry, checked: null = the field is unset. */
export interface OperationMatcher {
  readonly ports: readonly number[] | null;
  readonly notPorts: readonly number[] | null;
  /** True when any HTTP field is set: such an entry cannot be decided for opaque TCP. */
  readonly http: boolean;
  readonly methods: readonly string[] | null;
  readonly notMethods: readonly string[] | null;
  readonly paths: PathSet | null;
  readonly notPaths: PathSet | null;
  readonly hosts: HostSet | null;
  readonly notHosts: HostSet | null;
  /** "/service/method" for calls named in full. */
  readonly grpcExact: readonly string[] | null;
  /** "/service/" for every method of a service. */
  readonly grpcService: readonly string[] | null;
}

export interface PathSet {
  readonly exact: readonly string[];
  readonly prefix: readonly string[];
}

export interface HostSet {
  readonly exact: readonly string[];
  /** ".suffix" (from "*.suffix"): the host must end with it and hold at least one more character. */
  readonly suffix: readonly string[];
}

/** What a caller's id says, read once per distinct id (the proxy sees few). */
export interface PeerParts {
  /** The id's namespace and ServiceAccount segments, whether or not they are valid names. */
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly namespaceServiceAccount: string;
  /** True when the id is a valid workload id (lib/spiffe.ts): only then do namespace and SA fields match. */
  readonly valid: boolean;
}

const SPIFFE = "spiffe://";
const SLASH = 0x2f;

/** True when `id` matches the pattern's segments one for one, without splitting the id. */
export function matchesIdPattern(pattern: IdPattern, id: string): boolean {
  if (pattern.exact !== null) return pattern.exact === id;
  if (pattern.segments.length === 0) return true; // a lone "*"
  if (!id.startsWith(SPIFFE)) return false;
  const segments = pattern.segments;
  let start = SPIFFE.length;
  for (let i = 0; i < segments.length; i++) {
    let end = id.indexOf("/", start);
    if (end < 0) end = id.length;
    // The last pattern segment must reach the end of the id, and no other may.
    if ((i === segments.length - 1) !== (end === id.length)) return false;
    const segment = segments[i]!;
    if (segment === "*") {
      if (end === start) return false;
    } else if (end - start !== segment.length || !id.startsWith(segment, start)) {
      return false;
    }
    start = end + 1;
  }
  return true;
}

function matchesAnyId(patterns: readonly IdPattern[], id: string): boolean {
  for (let i = 0; i < patterns.length; i++) if (matchesIdPattern(patterns[i]!, id)) return true;
  return false;
}

export function matchesSource(source: SourceMatcher, peer: string | null, parts: PeerParts | null): boolean {
  if (source.unauthenticated) return peer === null;
  if (peer === null) return false;
  if (source.identities !== null && !source.anyIdentity && !matchesAnyId(source.identities, peer)) return false;
  if (source.notIdentities !== null && matchesAnyId(source.notIdentities, peer)) return false;
  // An id that is not a valid workload id has no namespace or ServiceAccount to
  // compare, so every such field (negated ones too) fails: it never widens access.
  const valid = parts !== null && parts.valid;
  if (source.namespaces !== null && !(valid && source.namespaces.includes(parts.namespace))) return false;
  if (source.notNamespaces !== null && !(valid && !source.notNamespaces.includes(parts.namespace))) return false;
  if (source.serviceAccounts !== null && !(valid && source.serviceAccounts.includes(parts.namespaceServiceAccount))) return false;
  if (source.notServiceAccounts !== null && !(valid && !source.notServiceAccounts.includes(parts.namespaceServiceAccount))) return false;
  return true;
}

function matchesPath(set: PathSet, path: string): boolean {
  if (set.exact.includes(path)) return true;
  for (let i = 0; i < set.prefix.length; i++) if (path.startsWith(set.prefix[i]!)) return true;
  return false;
}

function matchesHost(set: HostSet, host: string): boolean {
  if (set.exact.includes(host)) return true;
  for (let i = 0; i < set.suffix.length; i++) {
    const suffix = set.suffix[i]!;
    if (host.length > suffix.length && host.endsWith(suffix)) return true;
  }
  return false;
}

function matchesGrpc(operation: OperationMatcher, path: string): boolean {
  if (operation.grpcExact !== null && operation.grpcExact.includes(path)) return true;
  const services = operation.grpcService;
  if (services === null) return false;
  for (let i = 0; i < services.length; i++) {
    const service = services[i]!;
    // Every method of the service: one more non-empty segment, and nothing after it.
    if (path.length > service.length && path.startsWith(service) && path.indexOf("/", service.length) < 0) return true;
  }
  return false;
}

/**
 * `denying` is true for DENY policies: an HTTP field cannot be known on opaque
 * TCP, and reading it as satisfied there (and as failed in ALLOW and AUDIT)
 * means an unknowable field never widens access.
 */
export function matchesOperation(operation: OperationMatcher, request: AuthzRequest, denying: boolean): boolean {
  if (operation.ports !== null && !operation.ports.includes(request.port)) return false;
  if (operation.notPorts !== null && operation.notPorts.includes(request.port)) return false;
  if (!operation.http) return true;
  const http = request.http;
  if (http === undefined) return denying;
  if (operation.methods !== null && !operation.methods.includes(http.method)) return false;
  if (operation.notMethods !== null && operation.notMethods.includes(http.method)) return false;
  if (operation.paths !== null && !matchesPath(operation.paths, http.path)) return false;
  if (operation.notPaths !== null && matchesPath(operation.notPaths, http.path)) return false;
  if (operation.hosts !== null && !matchesHost(operation.hosts, http.host)) return false;
  if (operation.notHosts !== null && matchesHost(operation.notHosts, http.host)) return false;
  if ((operation.grpcExact !== null || operation.grpcService !== null) && !(http.grpc && matchesGrpc(operation, http.path))) return false;
  return true;
}

export function matchesAnyOperation(operations: readonly OperationMatcher[], request: AuthzRequest, denying: boolean): boolean {
  if (operations.length === 0) return true;
  for (let i = 0; i < operations.length; i++) if (matchesOperation(operations[i]!, request, denying)) return true;
  return false;
}

// ------------------------------------------------------------- caller's id

const WORKLOAD_SHAPE = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/;

/** The namespace and ServiceAccount segments of a spiffe://td/ns/<ns>/sa/<sa> id; null for any other shape. */
export function peerParts(peer: string): PeerParts | null {
  const match = WORKLOAD_SHAPE.exec(peer);
  if (match === null) return null;
  const [, namespace = "", serviceAccount = ""] = match;
  return { namespace, serviceAccount, namespaceServiceAccount: `${namespace}/${serviceAccount}`, valid: parseSpiffeId(peer).ok };
}

/** The trust domain of a spiffe:// id equals `trustDomain` (the text up to the id's next "/"). */
export function inTrustDomain(peer: string, trustDomain: string): boolean {
  if (!peer.startsWith(SPIFFE) || !peer.startsWith(trustDomain, SPIFFE.length)) return false;
  const end = SPIFFE.length + trustDomain.length;
  return end === peer.length || peer.charCodeAt(end) === SLASH;
}
