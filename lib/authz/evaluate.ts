// The authorization decision as a pure function: a compiled policy set and a
// request's attributes in, the decision and the policy that made it out. The
// server proxy, `weft authz check` and the authz benchmark all call this.
//
// Precedence (docs/authorization.md): a matching DENY refuses; else, when ALLOW
// policies cover the port, the request must match one of them; else the
// workload's default decides. AUDIT policies never refuse. When several
// policies match, the first in the snapshot's order is the one named.
//
// When ALLOW policies cover the port and none matches, the refusal names the
// first of them (kind "no-allow-match"): a real object an operator can look up
// (`kubectl get authorizationpolicy -n <ns> <name>`), stable for a given
// snapshot, and nothing beyond a policy name.
//
// The proxy calls evaluate() per request, so compile time pays for speed:
// policies are split by the ports they cover, clauses are filed by caller
// (evaluate-index.ts), each caller's first request builds its plan (the
// clauses its `from` matches, filed by path and method: evaluate-bucket.ts),
// and the common decisions are shared frozen objects, so a request of a known
// caller with no AUDIT match allocates nothing.
import type { Authorization__Output } from "../../api/gen/weft/discovery/v1/Authorization.ts";
import type { DefaultInboundPolicy__Output } from "../../api/gen/weft/discovery/v1/DefaultInboundPolicy.ts";
import { fail, ok, type Result } from "../result.ts";
import type { AuthzDecision, AuthzRequest } from "./decision.ts";
import type { DefaultPolicyName } from "./default-policy.ts";
import { compilePolicy, type CompileCode, type CompiledPolicy } from "./evaluate-compile.ts";
import { allMatches, firstMatch, newScratch, segmentHash, toBucket, type Bucket, type MatchScratch } from "./evaluate-bucket.ts";
import { buildIndexes, callerBucket, type ClauseIndex } from "./evaluate-index.ts";
import { inTrustDomain, peerParts } from "./evaluate-match.ts";
import { completeAuthorization } from "./authorization-shape.ts";

export type { CompileCode } from "./evaluate-compile.ts";

/** An Authorization prepared for fast evaluation (indexes built once per snapshot). */
export interface CompiledAuthorization {
  readonly source: Authorization__Output;
}

/** The policies that cover one port, indexed. */
interface Scope {
  readonly deny: ClauseIndex;
  readonly allow: ClauseIndex;
  readonly audit: ClauseIndex;
  readonly noAllowMatch: AuthzDecision | null;
  readonly acceptsPlaintext: boolean;
  /** By caller id, built on the caller's first request (evaluate-index.ts). */
  readonly plans: Map<string, Plan>;
  readonly plaintext: Plan;
  /** The last caller's plan: a connection's requests share their caller, so most lookups stop here. */
  lastPeer: string | null;
  lastPlan: Plan | null;
}

/** One caller's clauses in one scope: those whose `from` it matches, per action (null: none). */
interface Plan {
  readonly deny: Bucket | null;
  readonly allow: Bucket;
  readonly audit: Bucket | null;
}

// Callers are verified mesh workloads, so few; the bound only keeps a
// pathological churn of ids from growing the cache (it starts over when full).
const PLANS_PER_SCOPE = 4096;
const EMPTY_BUCKET = toBucket([]);

type DefaultRule = "authenticated" | "trust-domain" | "anyone" | "no-one";

interface Compiled extends CompiledAuthorization {
  readonly policies: readonly CompiledPolicy[];
  /** Ports some policy names; any other port sees only the policies that cover every port. */
  readonly scopes: ReadonlyMap<number, Scope>;
  readonly otherPorts: Scope;
  /** True when some rule reads the path (paths, notPaths or gRPC names): else both readings of a path decide alike. */
  readonly readsPath: boolean;
  readonly defaultRule: DefaultRule;
  readonly trustDomain: string;
  readonly defaultAdmits: AuthzDecision;
  /** Refused, or (dry run) admitted with the refusal named. */
  readonly defaultRefuses: AuthzDecision;
  /** Per policy position: the decision it makes when it decides. */
  readonly decisions: readonly AuthzDecision[];
  readonly scratch: MatchScratch;
  /** Shared decisions listing one AUDIT policy: by the decision, then by the policy's position. */
  readonly audited: Map<AuthzDecision, AuthzDecision[]>;
}

const NO_AUDITS: readonly string[] = Object.freeze([]);

const DEFAULTS: Record<DefaultInboundPolicy__Output, { name: DefaultPolicyName; rule: DefaultRule }> = {
  // Unspecified reads as the mesh's default, never wider (api/discovery.proto).
  DEFAULT_INBOUND_POLICY_UNSPECIFIED: { name: "all-authenticated", rule: "authenticated" },
  DEFAULT_ALL_AUTHENTICATED: { name: "all-authenticated", rule: "authenticated" },
  DEFAULT_CLUSTER_AUTHENTICATED: { name: "cluster-authenticated", rule: "trust-domain" },
  DEFAULT_ALL_UNAUTHENTICATED: { name: "all-unauthenticated", rule: "anyone" },
  DEFAULT_DENY: { name: "deny", rule: "no-one" },
};

function decision(allowed: boolean, kind: AuthzDecision["kind"], policy: string, dryRunRefusal: string | null = null): AuthzDecision {
  return Object.freeze({ allowed, kind, policy, audited: NO_AUDITS, dryRunRefusal });
}

/** Refuses (with a message naming the policy and field) what cannot be enforced as written: the proxy NACKs it. */
export function compileAuthorization(given: Authorization__Output): Result<CompiledAuthorization, CompileCode> {
  const authorization = completeAuthorization(given);
  const chosen = Object.hasOwn(DEFAULTS, authorization.defaultPolicy) ? DEFAULTS[authorization.defaultPolicy] : undefined;
  if (chosen === undefined) return fail("bad-default", `default policy ${String(authorization.defaultPolicy)} is not one Weft knows`);
  if (chosen.rule === "trust-domain" && authorization.trustDomain === "") return fail("bad-default", "default policy cluster-authenticated needs the trust domain, and trustDomain is empty");
  const policies: CompiledPolicy[] = [];
  for (const [i, policy] of authorization.policies.entries()) {
    const compiled = compilePolicy(policy, i);
    if (!compiled.ok) return compiled;
    policies.push(compiled.value);
  }
  const named = `default:${chosen.name}`;
  const dryRun = authorization.defaultDryRun;
  const defaultAdmitsPlaintext = chosen.rule === "anyone" || dryRun;
  const scope = (port: number | null): Scope => {
    const covering = policies.map((policy, position) => ({ policy, position })).filter(({ policy }) => policy.ports.length === 0 || (port !== null && policy.ports.includes(port)));
    const indexes = buildIndexes(covering);
    const allows = covering.filter(({ policy }) => policy.action === "ALLOW");
    const first = allows[0];
    const scoped = {
      deny: indexes.DENY,
      allow: indexes.ALLOW,
      audit: indexes.AUDIT,
      noAllowMatch: first === undefined ? null : decision(false, "no-allow-match", first.policy.name),
      acceptsPlaintext: first === undefined ? defaultAdmitsPlaintext : allows.some(({ policy }) => policy.rules.some((r) => r.from.length === 0 || r.from.some((s) => s.unauthenticated))),
      plans: new Map<string, Plan>(),
    };
    return { ...scoped, plaintext: buildPlan(scoped, null), lastPeer: null, lastPlan: null };
  };
  const ports = [...new Set(policies.flatMap((p) => p.ports))].sort((a, b) => a - b);
  const compiled: Compiled = {
    source: authorization,
    policies,
    scopes: new Map(ports.map((port) => [port, scope(port)])),
    otherPorts: scope(null),
    readsPath: policies.some((p) => p.rules.some((r) => r.to.some((o) => o.paths !== null || o.notPaths !== null || o.grpcExact !== null || o.grpcService !== null))),
    defaultRule: chosen.rule,
    trustDomain: authorization.trustDomain,
    defaultAdmits: decision(true, "default", named),
    defaultRefuses: dryRun ? decision(true, "default", named, named) : decision(false, "default", named),
    decisions: policies.map((p) => (p.action === "DENY" ? decision(false, "deny-policy", p.name) : decision(true, "allow-policy", p.name))),
    scratch: newScratch(policies.length),
    audited: new Map(),
  };
  return ok(compiled);
}

/** An empty bucket can take no request: null, so that evaluate skips its scan (an AUDIT that names other callers costs nothing). */
function orNull(bucket: Bucket): Bucket | null {
  return bucket.any.length === 0 && bucket.filed.length === 0 ? null : bucket;
}

function buildPlan(scope: Pick<Scope, "deny" | "allow" | "audit">, peer: string | null): Plan {
  const parts = peer === null ? null : peerParts(peer);
  return {
    deny: scope.deny.policies.length === 0 ? null : orNull(callerBucket(scope.deny, peer, parts)),
    allow: scope.allow.policies.length === 0 ? EMPTY_BUCKET : callerBucket(scope.allow, peer, parts),
    audit: scope.audit.policies.length === 0 ? null : orNull(callerBucket(scope.audit, peer, parts)),
  };
}

function planFor(scope: Scope, peer: string | null): Plan {
  if (peer === null) return scope.plaintext;
  if (peer === scope.lastPeer && scope.lastPlan !== null) return scope.lastPlan;
  let plan = scope.plans.get(peer);
  if (plan === undefined) {
    plan = buildPlan(scope, peer);
    if (scope.plans.size >= PLANS_PER_SCOPE) scope.plans.clear();
    scope.plans.set(peer, plan);
  }
  scope.lastPeer = peer;
  scope.lastPlan = plan;
  return plan;
}

function defaultDecision(compiled: Compiled, peer: string | null): AuthzDecision {
  switch (compiled.defaultRule) {
    case "anyone":
      return compiled.defaultAdmits;
    case "no-one":
      return compiled.defaultRefuses;
    case "authenticated":
      return peer !== null ? compiled.defaultAdmits : compiled.defaultRefuses;
    case "trust-domain":
      return peer !== null && inTrustDomain(peer, compiled.trustDomain) ? compiled.defaultAdmits : compiled.defaultRefuses;
  }
}

export function evaluate(authorization: CompiledAuthorization, request: AuthzRequest): AuthzDecision {
  // Only compileAuthorization makes these, so the cast cannot see anything else.
  const compiled = authorization as Compiled;
  const scope = compiled.scopes.get(request.port) ?? compiled.otherPorts;
  const peer = request.peer;
  const plan = planFor(scope, peer);
  const segment = request.http === undefined ? 0 : segmentHash(request.http.path);
  let result: AuthzDecision;
  const denied = plan.deny === null ? -1 : firstMatch(plan.deny, request, segment, true);
  if (denied >= 0) {
    result = compiled.decisions[denied]!;
  } else if (scope.noAllowMatch !== null) {
    const allowed = firstMatch(plan.allow, request, segment, false);
    result = allowed >= 0 ? compiled.decisions[allowed]! : scope.noAllowMatch;
  } else {
    result = defaultDecision(compiled, peer);
  }
  if (plan.audit === null) return result;
  const audits = allMatches(plan.audit, compiled.scratch, request, segment);
  if (audits.length === 0) return result;
  if (audits.length > 1) return { ...result, audited: audits.map((position) => compiled.policies[position]!.name) };
  return withOneAudit(compiled, result, audits[0]!);
}

/** `decision` with one AUDIT policy listed: the common case, made once and shared. */
function withOneAudit(compiled: Compiled, decision: AuthzDecision, position: number): AuthzDecision {
  let byAudit = compiled.audited.get(decision);
  if (byAudit === undefined) {
    byAudit = [];
    compiled.audited.set(decision, byAudit);
  }
  return (byAudit[position] ??= Object.freeze({ ...decision, audited: Object.freeze([compiled.policies[position]!.name]) }));
}

/** False when no rule reads the path: then the path's normal form cannot change a decision (evaluate-request.ts). */
export function readsPath(authorization: CompiledAuthorization): boolean {
  return (authorization as Compiled).readsPath;
}

/** True when plaintext callers can be allowed on this port (the default admits them, or an ALLOW rule names `unauthenticated`, or a rule has no `from`). */
export function acceptsPlaintext(authorization: CompiledAuthorization, port: number): boolean {
  const compiled = authorization as Compiled;
  return (compiled.scopes.get(port) ?? compiled.otherPorts).acceptsPlaintext;
}
