// AuthorizationPolicy objects as the control plane and `weft authz` read them, and what
// stands in for one that does not parse. Pure.
//
// A policy that fails to parse must not simply vanish: a DENY that vanishes
// admits what it refused, and an ALLOW that vanishes can hand its port back to
// a wider default. Keeping the last good version would hold only until the
// control plane restarts (then the object would vanish after all), so instead
// a malformed policy compiles, restart-stable, to the narrowest thing it could
// have meant, under its own name (refusals name it, so operators find it):
//   - target readable: that target; otherwise every workload of its namespace;
//   - ALLOW: allow-nothing (no rules): its port is covered and none of its
//     callers pass, but other ALLOW policies still admit theirs;
//   - DENY, or an action that does not parse: deny-everything;
//   - AUDIT: dropped (an audit never refuses, so losing it widens nothing).
import type { AuthorizationRule } from "../../api/gen/weft/discovery/v1/AuthorizationRule.ts";
import { parseAuthorizationPolicy } from "./spec-parse.ts";
import type { AuthzPolicySpec } from "./spec.ts";
import { fail, type Failure, type Result } from "../result.ts";
import { completeAuthorization } from "./authorization-shape.ts";
import { compileAuthorization } from "./evaluate.ts";

/** Matches every request: no `from` is any caller, no `to` is any request. */
const EVERYTHING: AuthorizationRule = { from: [], to: [] };

export interface ReadPolicy {
  /** The policy, or what stands in for it; null when nothing applies (a malformed AUDIT, or no name to apply it under). */
  policy: AuthzPolicySpec | null;
  problem: Failure | null;
}

export function readAuthorizationPolicy(object: unknown): ReadPolicy {
  const parsed = enforceable(parseAuthorizationPolicy(object));
  if (parsed.ok) return { policy: parsed.value, problem: null };
  const metadata = isObject(object) && isObject(object.metadata) ? object.metadata : {};
  const namespace = typeof metadata.namespace === "string" ? metadata.namespace : "";
  const name = typeof metadata.name === "string" ? metadata.name : "";
  if (!namespace || !name) {
    return { policy: null, problem: fail("invalid-authorization-policy", `skipped (no name or namespace to apply it under): ${parsed.message}`) };
  }
  // The target and action alone, read by the same parser without the rules (where most mistakes are).
  const spec = isObject(object) && isObject(object.spec) ? object.spec : {};
  const { rules: _rules, ...withoutRules } = spec;
  const head = parseAuthorizationPolicy({ ...(isObject(object) ? object : {}), spec: withoutRules });
  const target = head.ok ? head.value.target : { kind: "namespace" as const };
  const action = head.ok ? head.value.action : "DENY";
  if (action === "AUDIT") return { policy: null, problem: fail("invalid-authorization-policy", `AUDIT policy skipped: ${parsed.message}`) };
  const stand = action === "ALLOW" ? "allow-nothing" : "deny-everything";
  const where = head.ok ? "on its target" : "on every workload of its namespace";
  return {
    policy: { namespace, name, target, action: action === "ALLOW" ? "ALLOW" : "DENY", rules: action === "ALLOW" ? [] : [EVERYTHING] },
    problem: fail("invalid-authorization-policy", `enforced as ${stand} ${where} until fixed: ${parsed.message}`),
  };
}

/**
 * A parsed policy that the proxies' compiler would still refuse (it checks a few things the CRD
 * and the parser leave to it) is malformed too: sent as written, it would make every proxy it
 * selects NACK its whole snapshot and keep enforcing a stale set.
 */
function enforceable(parsed: Result<AuthzPolicySpec>): Result<AuthzPolicySpec> {
  if (!parsed.ok) return parsed;
  const p = parsed.value;
  const trial = compileAuthorization(completeAuthorization({
    defaultPolicy: "DEFAULT_ALL_AUTHENTICATED",
    trustDomain: "trial.invalid",
    policies: [{ name: `${p.namespace}/${p.name}`, action: p.action, ports: [], rules: p.rules }],
  }));
  return trial.ok ? parsed : fail(trial.code, trial.message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
