// One request's decision on both readings of its path (path-normalize.ts):
// refused when either is refused, so no spelling of a path reaches what a
// policy denies, or escapes what an ALLOW requires. The proxy and `weft authz
// check` call this; evaluate() itself stays a function of the attributes alone.
import type { AuthzDecision, AuthzRequest } from "./decision.ts";
import { evaluate, readsPath, type CompiledAuthorization } from "./evaluate.ts";
import { normalizePath } from "./path-normalize.ts";

export function evaluateRequest(compiled: CompiledAuthorization, request: AuthzRequest): AuthzDecision {
  const asSent = evaluate(compiled, request);
  const http = request.http;
  // No rule reads the path: its other reading decides the same, so the scan is skipped.
  if (http === undefined || !asSent.allowed || !readsPath(compiled)) return asSent;
  const normal = normalizePath(http.path);
  if (normal === http.path) return asSent;
  const normalized = evaluate(compiled, { port: request.port, peer: request.peer, http: { ...http, path: normal } });
  return normalized.allowed ? asSent : normalized;
}
