// The authorization decision as a pure function: a compiled policy set and a
// request's attributes in, the decision and the policy that made it out. The
// server proxy, `weft authz check` and the authz benchmark all call this.
// STUB: signatures fixed; implementation in progress (issue 17).
import type { Authorization__Output } from "../../api/gen/weft/discovery/v1/Authorization.ts";
import { fail, type Result } from "../result.ts";
import type { AuthzDecision, AuthzRequest } from "./decision.ts";

/** An Authorization prepared for fast evaluation (indexes built once per snapshot). */
export interface CompiledAuthorization {
  readonly source: Authorization__Output;
}

/** Refuses (with a message naming the policy and field) what cannot be enforced as written: the proxy NACKs it. */
export function compileAuthorization(authorization: Authorization__Output): Result<CompiledAuthorization> {
  void authorization;
  return fail("not-implemented", "authorization evaluation is not implemented yet");
}

export function evaluate(compiled: CompiledAuthorization, request: AuthzRequest): AuthzDecision {
  void compiled;
  void request;
  throw new Error("not implemented");
}

/** True when plaintext callers can be allowed on this port (the default admits them, or an ALLOW rule names `unauthenticated`, or a rule has no `from`). */
export function acceptsPlaintext(compiled: CompiledAuthorization, port: number): boolean {
  void compiled;
  void port;
  throw new Error("not implemented");
}
