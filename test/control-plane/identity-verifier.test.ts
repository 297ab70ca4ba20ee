import assert from "node:assert/strict";
import { generateLocalTokenKey, mintLocalToken, verifyLocalToken } from "../../control-plane/src/identity-verifier-local-token.ts";
import { identityFromTokenReview, TokenReviewVerifier } from "../../control-plane/src/identity-verifier-token-review.ts";
import { IDENTITY_TOKEN_AUDIENCE } from "../../lib/proxy-contract.ts";

describe("identity verifiers", () => {
  describe("local tokens", () => {
    const key = generateLocalTokenKey();
    const now = new Date("2030-01-01T00:00:00Z");

    it("proves the namespace and ServiceAccount it was minted for", () => {
      const token = mintLocalToken(key, { namespace: "shop", serviceAccount: "cart", now });
      assert.deepEqual(verifyLocalToken(key, token, "example.org", now), { ok: true, value: { trustDomain: "example.org", namespace: "shop", serviceAccount: "cart" } });
    });

    it("refuses tokens that are expired, for another audience, signed with another key, tampered with or not tokens", () => {
      const code = (token: string) => {
        const r = verifyLocalToken(key, token, "example.org", now);
        return r.ok ? "ok" : r.code;
      };
      assert.equal(code(mintLocalToken(key, { namespace: "shop", serviceAccount: "cart", now, ttlMs: -1 })), "token-expired");
      assert.equal(code(mintLocalToken(key, { namespace: "shop", serviceAccount: "cart", now, audience: "kubernetes" })), "token-wrong-audience");
      assert.equal(code(mintLocalToken(generateLocalTokenKey(), { namespace: "shop", serviceAccount: "cart", now })), "token-invalid");
      const good = mintLocalToken(key, { namespace: "shop", serviceAccount: "cart", now });
      const [prefix, claims, mac] = good.split(".");
      const forged = Buffer.from(JSON.stringify({ namespace: "kube-system", serviceAccount: "admin", audience: IDENTITY_TOKEN_AUDIENCE, expiresAt: 2e9 })).toString("base64url");
      assert.equal(code(`${prefix}.${forged}.${mac}`), "token-invalid");
      assert.equal(code(`${prefix}.${claims}`), "token-invalid");
      assert.equal(code(""), "token-missing");
      assert.equal(code("eyJhbGciOiJSUzI1NiJ9.e30.sig"), "token-malformed");
      assert.equal(code("weft1." + "A".repeat(10_000)), "token-malformed");
      assert.equal(code(mintLocalToken(key, { namespace: "Bad_NS", serviceAccount: "cart", now })), "token-not-a-workload");
    });
  });

  describe("TokenReview mapping", () => {
    const aud = IDENTITY_TOKEN_AUDIENCE;
    const code = (status: Parameters<typeof identityFromTokenReview>[0]) => {
      const r = identityFromTokenReview(status, aud, "cluster.local");
      return r.ok ? r.value : r.code;
    };

    it("maps an authenticated ServiceAccount with our audience to its SPIFFE identity", () => {
      assert.deepEqual(code({ authenticated: true, audiences: [aud], user: { username: "system:serviceaccount:shop:cart" } }), {
        trustDomain: "cluster.local",
        namespace: "shop",
        serviceAccount: "cart",
      });
    });

    it("refuses unauthenticated tokens by cause, tokens without our audience, and users that are not ServiceAccounts", () => {
      assert.equal(code({ authenticated: false, error: "[invalid bearer token, token audiences [\"other\"] is invalid for the target audiences [\"identity.weft.io\"]]" }), "token-wrong-audience");
      assert.equal(code({ authenticated: false, error: "[invalid bearer token, square/go-jose/jwt: validation failed, token is expired (exp)]" }), "token-expired");
      assert.equal(code({ authenticated: false, error: "invalid bearer token" }), "token-invalid");
      assert.equal(code(undefined), "token-invalid");
      // An audience-unaware authenticator returns no audiences: not proof for us.
      assert.equal(code({ authenticated: true, user: { username: "system:serviceaccount:shop:cart" } }), "token-wrong-audience");
      assert.equal(code({ authenticated: true, audiences: [aud], user: { username: "alice@example.org" } }), "token-not-a-workload");
      assert.equal(code({ authenticated: true, audiences: [aud], user: { username: "system:node:node-1" } }), "token-not-a-workload");
    });

    it("asks the API server for exactly our audience and reports an unreachable API server as unavailable", async () => {
      const asked: string[][] = [];
      const verifier = new TokenReviewVerifier({
        async review(_token, audiences) {
          asked.push(audiences);
          return { authenticated: true, audiences, user: { username: "system:serviceaccount:shop:cart" } };
        },
      }, "cluster.local");
      assert.ok((await verifier.verify("t")).ok);
      assert.deepEqual(asked, [[aud]]);
      const down = new TokenReviewVerifier({ review: async () => Promise.reject(new Error("connect ECONNREFUSED")) }, "cluster.local");
      const r = await down.verify("t");
      assert.equal(r.ok ? "ok" : r.code, "verifier-unavailable");
      assert.equal(((await down.verify("")) as { code: string }).code, "token-missing");
    });
  });
});
