// Compiling a snapshot's Authorization, once: the discovery client's validate
// step (which NACKs what does not compile) and the listener's apply step see
// the same object, so the second finds the first's result here. Keyed weakly
// by the snapshot's own object: a state the proxy no longer holds takes its
// compiled form with it.
import type { Authorization__Output } from "../../../api/gen/weft/discovery/v1/Authorization.ts";
import type { InboundPolicy__Output } from "../../../api/gen/weft/discovery/v1/InboundPolicy.ts";
import { compileAuthorization, type CompiledAuthorization } from "../../../lib/authz/evaluate.ts";
import { fail, ok, type Result } from "../../../lib/result.ts";

const compiled = new WeakMap<Authorization__Output, CompiledAuthorization>();

/** The compiled Authorization of `source` (null when there is none), or why it cannot be enforced. */
export function compileOnce(source: Authorization__Output | null): Result<CompiledAuthorization | null> {
  if (source === null) return ok(null);
  const held = compiled.get(source);
  if (held) return ok(held);
  let result: Result<CompiledAuthorization>;
  try {
    result = compileAuthorization(source);
  } catch (err) {
    return fail("authz-compile-error", `authorization: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!result.ok) return fail(result.code, result.message);
  compiled.set(source, result.value);
  return ok(result.value);
}

/** For the discovery client's validate hook: an inbound policy whose Authorization does not compile is refused (NACKed). */
export function validateInboundAuthorization(inbound: InboundPolicy__Output | null | undefined): Result<void> {
  const result = compileOnce(inbound?.authorization ?? null);
  return result.ok ? ok(undefined) : result;
}
