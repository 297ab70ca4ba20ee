// Fills the identity-verifier seam for local mode (no Kubernetes): the control
// plane mints a compact HMAC-SHA256 token per workload and later checks it.
// Format: "weft1." + base64url(JSON claims) + "." + base64url(HMAC(key, "weft1." + claims)).
// The key never leaves the control plane's directory; whoever can read it can
// mint any identity, exactly as whoever holds a cluster's SA signing key can.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { IDENTITY_TOKEN_AUDIENCE } from "../../lib/proxy-contract.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { validateIdentity, type WorkloadIdentity } from "../../lib/spiffe.ts";
import type { IdentityVerifier, TokenRefusal } from "./identity-verifier.ts";

const PREFIX = "weft1.";
const MAX_TOKEN_LENGTH = 4096;

export interface LocalTokenClaims {
  namespace: string;
  serviceAccount: string;
  audience: string;
  /** Expiry, seconds since the Unix epoch. */
  expiresAt: number;
}

export function generateLocalTokenKey(): Buffer {
  return randomBytes(32);
}

/** Reads a key file written by `weft identity init --local` (hex, 32 bytes). */
export function readLocalTokenKey(path: string): Result<Buffer> {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch (err) {
    return fail("key-unreadable", `cannot read local token key ${path}: ${(err as Error).message}`);
  }
  if (!/^[0-9a-f]{64}$/.test(text)) return fail("key-malformed", `${path}: want 64 hex characters`);
  return ok(Buffer.from(text, "hex"));
}

function mac(key: Buffer, signedPart: string): Buffer {
  return createHmac("sha256", key).update(signedPart).digest();
}

export interface MintOptions {
  namespace: string;
  serviceAccount: string;
  audience?: string;
  ttlMs?: number;
  now?: Date;
}

/** A token proving `namespace/serviceAccount` to the local control plane holding `key`. */
export function mintLocalToken(key: Buffer, options: MintOptions): string {
  const now = options.now ?? new Date();
  const claims: LocalTokenClaims = {
    namespace: options.namespace,
    serviceAccount: options.serviceAccount,
    audience: options.audience ?? IDENTITY_TOKEN_AUDIENCE,
    expiresAt: Math.floor((now.getTime() + (options.ttlMs ?? 3_600_000)) / 1000),
  };
  const signedPart = PREFIX + Buffer.from(JSON.stringify(claims)).toString("base64url");
  return `${signedPart}.${mac(key, signedPart).toString("base64url")}`;
}

function parseClaims(json: string): LocalTokenClaims | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const c = value as Record<string, unknown>;
  if (typeof c.namespace !== "string" || typeof c.serviceAccount !== "string" || typeof c.audience !== "string" || typeof c.expiresAt !== "number") {
    return undefined;
  }
  return { namespace: c.namespace, serviceAccount: c.serviceAccount, audience: c.audience, expiresAt: c.expiresAt };
}

/** Pure check of a local token against a key, an audience and a time. */
export function verifyLocalToken(key: Buffer, token: string, trustDomain: string, now: Date, audience = IDENTITY_TOKEN_AUDIENCE): Result<WorkloadIdentity, TokenRefusal> {
  if (token === "") return fail("token-missing", "no token");
  if (token.length > MAX_TOKEN_LENGTH || !token.startsWith(PREFIX)) return fail("token-malformed", "not a weft local token");
  const dot = token.lastIndexOf(".");
  const signedPart = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), "base64url");
  const expected = mac(key, signedPart);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return fail("token-invalid", "token signature does not verify");
  const claims = parseClaims(Buffer.from(signedPart.slice(PREFIX.length), "base64url").toString("utf8"));
  if (!claims) return fail("token-malformed", "token claims are malformed");
  if (claims.audience !== audience) return fail("token-wrong-audience", `token is for audience "${claims.audience}", not "${audience}"`);
  if (claims.expiresAt * 1000 <= now.getTime()) return fail("token-expired", `token expired at ${new Date(claims.expiresAt * 1000).toISOString()}`);
  const id = validateIdentity({ trustDomain, namespace: claims.namespace, serviceAccount: claims.serviceAccount });
  return id.ok ? id : fail("token-not-a-workload", id.message);
}

export class LocalTokenVerifier implements IdentityVerifier {
  readonly kind = "local";
  readonly #key: Buffer;
  readonly #trustDomain: string;
  readonly #now: () => Date;

  constructor(key: Buffer, trustDomain: string, now: () => Date = () => new Date()) {
    this.#key = key;
    this.#trustDomain = trustDomain;
    this.#now = now;
  }

  async verify(token: string): Promise<Result<WorkloadIdentity, TokenRefusal>> {
    return verifyLocalToken(this.#key, token, this.#trustDomain, this.#now());
  }
}
