// A caller's plan for one action (evaluate-index.ts, callerBucket): the
// clauses whose `from` that caller matches, filed by what the request must be.
// A clause whose every operation names paths (or gRPC services) with a known
// first segment is filed under those segments ("/api" for {prefix: /api/},
// "/pkg.Service" for a gRPC service); else one whose every operation names
// methods, under those methods; else it is checked for every request. So a
// GET /api/... checks the clauses that could take it, not every clause that
// names its caller.
//
// Opaque TCP has neither path nor method: ALLOW and AUDIT skip the filed
// clauses (an HTTP field never matches TCP there), DENY checks them all (an
// HTTP field always matches TCP there), as evaluate-match.ts decides each one.
//
// Every list keeps its clauses in policy order, so a scan stops at the best
// (lowest) match so far. The scans run per request and allocate nothing.
import type { AuthzRequest } from "./decision.ts";
import { matchesAnyOperation, type OperationMatcher } from "./evaluate-match.ts";

/** A rule's `to`, for a caller its `from` already admits. */
export interface Clause {
  /** The policy's position in the snapshot: the lowest matching one decides. */
  readonly policy: number;
  readonly to: readonly OperationMatcher[];
  readonly filing: Filing;
}

/** Where a clause is filed in every plan: the same for every caller, so worked out once per rule. */
export interface Filing {
  /** Hashes of the first path segments it can take; null when it can take any path. */
  readonly segments: readonly number[] | null;
  /** The methods it can take; null when any (or when filed by segment). */
  readonly methods: readonly string[] | null;
}

export interface Bucket {
  /** Clauses checked for every request. */
  readonly any: readonly Clause[];
  /** By the hash of the path's first segment (collisions only add candidates). */
  readonly bySegment: ReadonlyMap<number, readonly Clause[]>;
  readonly byMethod: ReadonlyMap<string, readonly Clause[]>;
  /** Every list of bySegment and byMethod, for opaque TCP under DENY. */
  readonly filed: readonly (readonly Clause[])[];
}

/** FNV-1a over the path up to (not including) its second "/": "/api/v1" and "/api" give the same. */
export function segmentHash(path: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x2f && i > 0) break;
    hash = Math.imul(hash ^ c, 0x01000193);
  }
  return hash;
}

/** The first segment every path of this value starts with, or null when it is not known (prefix "/ap"). */
function segmentOf(value: string, exact: boolean): string | null {
  if (!value.startsWith("/")) return null;
  const slash = value.indexOf("/", 1);
  if (slash >= 0) return value.slice(0, slash);
  return exact ? value : null;
}

function operationSegments(operation: OperationMatcher): string[] | null {
  const out: string[] = [];
  if (operation.paths !== null) {
    for (const value of operation.paths.exact) out.push(segmentOf(value, true) ?? "");
    for (const value of operation.paths.prefix) out.push(segmentOf(value, false) ?? "");
  } else if (operation.grpcExact !== null || operation.grpcService !== null) {
    for (const value of [...(operation.grpcExact ?? []), ...(operation.grpcService ?? [])]) out.push(segmentOf(value, false) ?? "");
  } else {
    return null;
  }
  return out.includes("") ? null : out;
}

/** The segments (or methods) a rule's `to` can take; null when some operation can take any. */
function keysOf(to: readonly OperationMatcher[], of: (operation: OperationMatcher) => readonly string[] | null): string[] | null {
  if (to.length === 0) return null;
  const keys = new Set<string>();
  for (const operation of to) {
    const some = of(operation);
    if (some === null) return null;
    for (const key of some) keys.add(key);
  }
  return [...keys];
}

export function filingOf(to: readonly OperationMatcher[]): Filing {
  const segments = keysOf(to, operationSegments);
  if (segments !== null) return { segments: [...new Set(segments.map(segmentHash))], methods: null };
  return { segments: null, methods: keysOf(to, (o) => o.methods) };
}

function fileUnder<K>(map: Map<K, Clause[]>, key: K, clause: Clause): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [clause]);
  else list.push(clause);
}

/** Clauses in policy order, filed. */
export function toBucket(clauses: readonly Clause[]): Bucket {
  const any: Clause[] = [];
  const bySegment = new Map<number, Clause[]>();
  const byMethod = new Map<string, Clause[]>();
  for (const clause of clauses) {
    const { segments, methods } = clause.filing;
    if (segments !== null) for (const segment of segments) fileUnder(bySegment, segment, clause);
    else if (methods !== null) for (const method of methods) fileUnder(byMethod, method, clause);
    else any.push(clause);
  }
  return { any, bySegment, byMethod, filed: [...bySegment.values(), ...byMethod.values()] };
}

const NONE = Number.MAX_SAFE_INTEGER;
const NO_MATCHES: readonly number[] = Object.freeze([]);

/** The lowest policy position in `list` below `best` whose clause matches; else `best`. */
function scanList(list: readonly Clause[] | undefined, best: number, request: AuthzRequest, denying: boolean): number {
  if (list === undefined) return best;
  for (let i = 0; i < list.length; i++) {
    const clause = list[i]!;
    if (clause.policy >= best) return best;
    if (matchesAnyOperation(clause.to, request, denying)) return clause.policy;
  }
  return best;
}

/** The position of the first policy whose clause takes the request, or -1. `segment` is segmentHash of its path. */
export function firstMatch(bucket: Bucket, request: AuthzRequest, segment: number, denying: boolean): number {
  let best = scanList(bucket.any, NONE, request, denying);
  if (bucket.filed.length > 0) {
    const http = request.http;
    if (http !== undefined) {
      if (bucket.bySegment.size > 0) best = scanList(bucket.bySegment.get(segment), best, request, denying);
      if (bucket.byMethod.size > 0) best = scanList(bucket.byMethod.get(http.method), best, request, denying);
    } else if (denying) {
      for (let i = 0; i < bucket.filed.length; i++) best = scanList(bucket.filed[i], best, request, denying);
    }
  }
  return best === NONE ? -1 : best;
}

/** Marks of which policies already matched this request, reused across requests (evaluation is synchronous). */
export interface MatchScratch {
  readonly seen: Int32Array;
  epoch: number;
  readonly found: number[];
}

export function newScratch(policies: number): MatchScratch {
  return { seen: new Int32Array(policies), epoch: 0, found: [] };
}

function collectList(list: readonly Clause[] | undefined, scratch: MatchScratch, request: AuthzRequest): void {
  if (list === undefined) return;
  for (let i = 0; i < list.length; i++) {
    const clause = list[i]!;
    if (scratch.seen[clause.policy] === scratch.epoch) continue;
    if (matchesAnyOperation(clause.to, request, false)) {
      scratch.seen[clause.policy] = scratch.epoch;
      scratch.found.push(clause.policy);
    }
  }
}

/**
 * The positions of every policy whose clause takes the request, ascending, in
 * scratch.found (valid until the next call). AUDIT reads opaque TCP as ALLOW does.
 */
export function allMatches(bucket: Bucket, scratch: MatchScratch, request: AuthzRequest, segment: number): readonly number[] {
  const http = request.http;
  const bySegment = http === undefined || bucket.bySegment.size === 0 ? undefined : bucket.bySegment.get(segment);
  const byMethod = http === undefined || bucket.byMethod.size === 0 ? undefined : bucket.byMethod.get(http.method);
  // The common case (an AUDIT on writes, a read): nothing could match, so the scratch is not touched.
  if (bucket.any.length === 0 && bySegment === undefined && byMethod === undefined) return NO_MATCHES;
  scratch.found.length = 0;
  // Epochs start at 1 (the marks are zeroed) and wrap long before overflow matters.
  scratch.epoch = scratch.epoch >= 0x7fffffff ? 1 : scratch.epoch + 1;
  if (scratch.epoch === 1) scratch.seen.fill(0);
  collectList(bucket.any, scratch, request);
  collectList(bySegment, scratch, request);
  collectList(byMethod, scratch, request);
  if (scratch.found.length > 1) scratch.found.sort((x, y) => x - y);
  return scratch.found;
}
