// Fills the identity-verifier seam for Kubernetes: the proxy presents its
// projected ServiceAccount token (audience identity.weft.io) and the API server
// says whose it is through a TokenReview. The mapping from the review's status
// to an identity is a pure function, tested on its own.
import { AuthenticationV1Api, type KubeConfig, type V1TokenReviewStatus } from "@kubernetes/client-node";
import { IDENTITY_TOKEN_AUDIENCE } from "../../lib/proxy-contract.ts";
import { fail, type Result } from "../../lib/result.ts";
import { identityFromServiceAccountUser, type WorkloadIdentity } from "../../lib/spiffe.ts";
import type { IdentityVerifier, TokenRefusal } from "./identity-verifier.ts";

const MAX_TOKEN_LENGTH = 16_384;

/** What a TokenReview status proves, if anything. */
export function identityFromTokenReview(status: V1TokenReviewStatus | undefined, audience: string, trustDomain: string): Result<WorkloadIdentity, TokenRefusal> {
  if (!status?.authenticated) {
    const error = status?.error ?? "token not authenticated";
    if (/audience/i.test(error)) return fail("token-wrong-audience", `token refused by the API server: ${error}`);
    if (/expired/i.test(error)) return fail("token-expired", `token refused by the API server: ${error}`);
    return fail("token-invalid", `token refused by the API server: ${error}`);
  }
  // An audience-unaware authenticator answers with no audiences: the token would
  // then be valid for the API server itself, which is not what a proxy must show.
  if (!(status.audiences ?? []).includes(audience)) {
    return fail("token-wrong-audience", `token is not valid for audience "${audience}" (review audiences: ${(status.audiences ?? []).join(",") || "none"})`);
  }
  const username = status.user?.username ?? "";
  const id = identityFromServiceAccountUser(username, trustDomain);
  return id.ok ? id : fail("token-not-a-workload", `"${username}" is not a ServiceAccount`);
}

export interface TokenReviewClient {
  review(token: string, audiences: string[]): Promise<V1TokenReviewStatus | undefined>;
}

/** The real client: POST /apis/authentication.k8s.io/v1/tokenreviews. */
export function tokenReviewClient(kubeConfig: KubeConfig): TokenReviewClient {
  const api = kubeConfig.makeApiClient(AuthenticationV1Api);
  return {
    async review(token, audiences) {
      const review = await api.createTokenReview({ body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, audiences } } });
      return review.status;
    },
  };
}

export class TokenReviewVerifier implements IdentityVerifier {
  readonly kind = "kubernetes";
  readonly #client: TokenReviewClient;
  readonly #trustDomain: string;
  readonly #audience: string;

  constructor(client: TokenReviewClient, trustDomain: string, audience = IDENTITY_TOKEN_AUDIENCE) {
    this.#client = client;
    this.#trustDomain = trustDomain;
    this.#audience = audience;
  }

  async verify(token: string): Promise<Result<WorkloadIdentity, TokenRefusal>> {
    if (token === "") return fail("token-missing", "no token");
    if (token.length > MAX_TOKEN_LENGTH) return fail("token-malformed", "token too long");
    let status: V1TokenReviewStatus | undefined;
    try {
      status = await this.#client.review(token, [this.#audience]);
    } catch (err) {
      return fail("verifier-unavailable", `TokenReview failed: ${(err as Error).message}`);
    }
    return identityFromTokenReview(status, this.#audience, this.#trustDomain);
  }
}
