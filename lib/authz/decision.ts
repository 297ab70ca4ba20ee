// What the evaluation function takes and returns (evaluate.ts). Shared by the
// server proxy (per request and per opaque connection), `weft authz check` and
// the authz benchmark, so all three decide the same way.

export interface AuthzRequest {
  /** The pod port the caller reached (the app's port, after capture). */
  port: number;
  /** The caller's verified SPIFFE id; null for a plaintext caller. */
  peer: string | null;
  /** Absent for opaque TCP, which is decided once per connection. */
  http?: AuthzHttp;
}

export interface AuthzHttp {
  /** Upper-case. */
  method: string;
  /** The request target's path, query string excluded. */
  path: string;
  /** :authority or Host, port stripped, lower-case. */
  host: string;
  /** True when content-type is application/grpc*: gRPC matches read `path` as /service/method. */
  grpc: boolean;
}

export type AuthzDecisionKind =
  /** A DENY policy matched. */
  | "deny-policy"
  /** An ALLOW policy matched. */
  | "allow-policy"
  /** ALLOW policies cover the port and none matched. */
  | "no-allow-match"
  /** No ALLOW policy covers the port: the workload's default decided. */
  | "default";

export interface AuthzDecision {
  allowed: boolean;
  kind: AuthzDecisionKind;
  /** What decided: a policy's "<namespace>/<name>", or "default:<name>" (e.g. "default:deny"). */
  policy: string;
  /** AUDIT policies that matched (they never refuse). */
  audited: readonly string[];
  /** A dry-run default that would have refused: the request passes, and this names the default. */
  dryRunRefusal: string | null;
}
