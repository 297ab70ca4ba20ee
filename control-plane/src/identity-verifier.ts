// The seam between the identity service and whatever proves who a proxy is.
// Kubernetes mode checks a projected ServiceAccount token with a TokenReview
// (identity-verifier-token-review.ts); local mode checks a token the control
// plane minted itself (identity-verifier-local-token.ts). Either way the
// workload identity comes out of the proof, never out of the CSR.
import { fail, ok, type Result } from "../../lib/result.ts";
import type { WorkloadIdentity } from "../../lib/spiffe.ts";

/** Why a token proves nothing: stable codes for metrics labels and status messages. */
export type TokenRefusal =
  | "token-missing"
  | "token-malformed"
  | "token-invalid"
  | "token-expired"
  | "token-wrong-audience"
  | "token-not-a-workload"
  | "verifier-unavailable";

export interface IdentityVerifier {
  /** "kubernetes" or "local": shown in logs. */
  readonly kind: string;
  verify(token: string): Promise<Result<WorkloadIdentity, TokenRefusal>>;
}

/** A verifier over a fixed token -> identity table: for unit tests of the service around it. */
export class StaticIdentityVerifier implements IdentityVerifier {
  readonly kind = "static";
  readonly #tokens: Map<string, WorkloadIdentity>;

  constructor(tokens: Record<string, WorkloadIdentity>) {
    this.#tokens = new Map(Object.entries(tokens));
  }

  async verify(token: string): Promise<Result<WorkloadIdentity, TokenRefusal>> {
    if (token === "") return fail("token-missing", "no token");
    const id = this.#tokens.get(token);
    return id ? ok(id) : fail("token-invalid", "unknown token");
  }
}
