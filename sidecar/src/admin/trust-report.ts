// Which anchors a proxy trusts and which issuer signed its leaf, from the
// credentials it holds: shown on /config and as the info metrics `weft check`
// reads through the apiserver (each anchor's and the issuer's SHA-256
// fingerprint). Parsed once per credentials, at scrape or request time only.
import { summarizeBundle, summarizeChain, type CertificateSummary } from "../../../lib/trust-bundle.ts";
import type { Credentials } from "../identity/credentials-source.ts";

export interface TrustReport {
  anchors: CertificateSummary[];
  leafIssuer: CertificateSummary | null;
}

const cache = new WeakMap<Credentials, TrustReport>();

export function trustReport(credentials: Credentials): TrustReport {
  const cached = cache.get(credentials);
  if (cached) return cached;
  const anchors = summarizeBundle(credentials.anchorsPem);
  const chain = summarizeChain(credentials.certChainPem);
  const report = { anchors: anchors.ok ? anchors.value : [], leafIssuer: chain.ok ? chain.value.issuer ?? null : null };
  cache.set(credentials, report);
  return report;
}
