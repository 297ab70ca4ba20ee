// The indexes evaluate.ts decides with, built once per snapshot. Every
// (policy, rule, `from` entry) becomes a clause, filed under what a caller must
// be for it to match: its exact id, its namespace, its "ns/sa", its
// ServiceAccount name, plaintext, or (for negations and odd wildcards) a short
// residual list checked for every mesh caller.
//
// A clause's `from` depends on the caller alone, and callers are the mesh's
// workloads: a small set that repeats on every request. So the first request
// of a caller builds its plan (callerBucket): the clauses whose `from` it
// matches, found through the index and checked once, then filed by path and
// method (evaluate-bucket.ts). Every later request of that caller checks only
// the `to` of the clauses that could take it.
import { filingOf, toBucket, type Bucket, type Clause as PlanClause } from "./evaluate-bucket.ts";
import type { CompiledPolicy, PolicyAction } from "./evaluate-compile.ts";
import { matchesSource, type PeerParts, type SourceMatcher } from "./evaluate-match.ts";

/** One `from` entry of a rule (or none: any caller), with the rule's `to`; a plan holds these once `from` is checked. */
export interface Clause extends PlanClause {
  /** Null: the rule has no `from`, any caller (plaintext included). */
  readonly source: SourceMatcher | null;
}

type ClauseMap = ReadonlyMap<string, readonly Clause[]>;

export interface ClauseIndex {
  /** Rules without `from`: any caller. */
  readonly always: readonly Clause[];
  readonly plaintext: readonly Clause[];
  readonly mesh: readonly Clause[];
  readonly byId: ClauseMap;
  readonly byNamespace: ClauseMap;
  /** "ns/sa". */
  readonly byServiceAccount: ClauseMap;
  /** The ServiceAccount name alone (spiffe://td/ns/&#42;/sa/<sa>). */
  readonly bySaName: ClauseMap;
  /** The policies of this action in scope, in snapshot order. */
  readonly policies: readonly number[];
}

/** Where one mesh `from` entry is filed: under these keys, or (null) in the residual list. */
interface Keys {
  id: string[];
  namespace: string[];
  serviceAccount: string[];
  saName: string[];
}

function keysOf(source: SourceMatcher): Keys | null {
  const keys: Keys = { id: [], namespace: [], serviceAccount: [], saName: [] };
  if (source.identities !== null && !source.anyIdentity) {
    let indexable = true;
    for (const pattern of source.identities) {
      if (pattern.exact !== null) {
        keys.id.push(pattern.exact);
        continue;
      }
      // spiffe://<td>/ns/<ns>/sa/<sa> with "*" in some of the parts: filed by the literal parts.
      const [, ns, namespace, sa, serviceAccount] = pattern.segments;
      if (pattern.segments.length !== 5 || ns !== "ns" || sa !== "sa" || namespace === undefined || serviceAccount === undefined) indexable = false;
      else if (namespace !== "*" && serviceAccount !== "*") keys.serviceAccount.push(`${namespace}/${serviceAccount}`);
      else if (namespace !== "*") keys.namespace.push(namespace);
      else if (serviceAccount !== "*") keys.saName.push(serviceAccount);
      else indexable = false;
    }
    if (indexable) return keys;
    keys.id.length = keys.namespace.length = keys.serviceAccount.length = keys.saName.length = 0;
  }
  // The fields are ANDed, so any one of them is a sound filing key.
  if (source.serviceAccounts !== null) keys.serviceAccount.push(...source.serviceAccounts);
  else if (source.namespaces !== null) keys.namespace.push(...source.namespaces);
  else return null;
  return keys;
}

class IndexBuilder implements ClauseIndex {
  readonly always: Clause[] = [];
  readonly plaintext: Clause[] = [];
  readonly mesh: Clause[] = [];
  readonly byId = new Map<string, Clause[]>();
  readonly byNamespace = new Map<string, Clause[]>();
  readonly byServiceAccount = new Map<string, Clause[]>();
  readonly bySaName = new Map<string, Clause[]>();
  readonly policies: number[] = [];

  add(policy: CompiledPolicy, position: number): void {
    this.policies.push(position);
    for (const rule of policy.rules) {
      const filing = filingOf(rule.to);
      if (rule.from.length === 0) this.always.push({ policy: position, source: null, to: rule.to, filing });
      for (const source of rule.from) {
        const clause: Clause = { policy: position, source, to: rule.to, filing };
        if (source.unauthenticated) {
          this.plaintext.push(clause);
          continue;
        }
        const keys = keysOf(source);
        if (keys === null) {
          this.mesh.push(clause);
          continue;
        }
        file(this.byId, keys.id, clause);
        file(this.byNamespace, keys.namespace, clause);
        file(this.byServiceAccount, keys.serviceAccount, clause);
        file(this.bySaName, keys.saName, clause);
      }
    }
  }
}

function file(map: Map<string, Clause[]>, keys: readonly string[], clause: Clause): void {
  for (const key of new Set(keys)) {
    const list = map.get(key);
    if (list === undefined) map.set(key, [clause]);
    else if (list.at(-1) !== clause) list.push(clause);
  }
}

/** One index per action, of the policies given (in snapshot order, with their positions). */
export function buildIndexes(policies: readonly { policy: CompiledPolicy; position: number }[]): Record<PolicyAction, ClauseIndex> {
  const builders = { ALLOW: new IndexBuilder(), DENY: new IndexBuilder(), AUDIT: new IndexBuilder() };
  for (const { policy, position } of policies) builders[policy.action].add(policy, position);
  return builders;
}

/** The clauses of the index whose `from` the caller matches (the check done), in policy order, filed by path and method. */
export function callerBucket(index: ClauseIndex, peer: string | null, parts: PeerParts | null): Bucket {
  const lists: (readonly Clause[] | undefined)[] = [index.always];
  if (peer === null) {
    lists.push(index.plaintext);
  } else {
    lists.push(index.mesh, index.byId.get(peer));
    if (parts !== null) lists.push(index.byServiceAccount.get(parts.namespaceServiceAccount), index.byNamespace.get(parts.namespace), index.bySaName.get(parts.serviceAccount));
  }
  const seen = new Set<Clause>();
  const matching: Clause[] = [];
  for (const list of lists) {
    for (const clause of list ?? []) {
      if (seen.has(clause)) continue;
      seen.add(clause);
      if (clause.source === null || matchesSource(clause.source, peer, parts)) matching.push(clause);
    }
  }
  return toBucket(matching.sort((a, b) => a.policy - b.policy));
}
