// `weft check`'s proxy-trust verdict: which anchors each proxy trusts and which
// issuer signed its leaf, as each proxy's /metrics says
// (weft_proxy_trust_anchor_info, weft_proxy_certificate_issuer_info), grouped so
// a rotation's state reads at a glance. A pure function of the facts.
import type { CheckResult } from "./check-results.ts";

/** What one proxy reports of its trust; undefined fields: a proxy too old to say. */
export interface ProxyTrustFact {
  pod: string;
  namespace: string;
  anchors: string[] | undefined;
  issuer: string | null | undefined;
}

const SHOW_PODS = 5;

/** The first eight bytes of a SHA-256 fingerprint: enough to tell anchors apart, short enough to read. */
export function shortFingerprint(fp: string): string {
  return fp.split(":").slice(0, 8).join(":");
}

function pods(facts: ProxyTrustFact[]): string {
  const names = facts.slice(0, SHOW_PODS).map((p) => `${p.namespace}/${p.pod}`).join(", ");
  return facts.length > SHOW_PODS ? `${names} and ${facts.length - SHOW_PODS} more` : names;
}

function groupBy(facts: ProxyTrustFact[], key: (f: ProxyTrustFact) => string): Map<string, ProxyTrustFact[]> {
  const groups = new Map<string, ProxyTrustFact[]>();
  for (const f of facts) groups.set(key(f), [...(groups.get(key(f)) ?? []), f]);
  return groups;
}

/**
 * Passes while every proxy trusts the same anchors (leaves from several issuers
 * are a rotation in progress: said, not failed). Fails when proxies disagree on
 * the bundle for longer than the retries: one did not take the pushed bundle.
 */
export function checkProxyTrust(facts: ProxyTrustFact[]): CheckResult {
  const name = "proxy-trust";
  const reporting = facts.filter((f) => f.anchors !== undefined && f.anchors.length > 0);
  const silent = facts.length - reporting.length;
  const silentNote = silent > 0 ? ` (${silent} proxies do not report their trust: older than this CLI, or unreadable)` : "";
  if (reporting.length === 0) return { name, ok: true, message: `no proxy reports its trust anchors${silentNote}`, hint: "" };
  const bundles = groupBy(reporting, (f) => (f.anchors ?? []).map(shortFingerprint).sort().join(" + "));
  const issuers = groupBy(reporting, (f) => (f.issuer ? shortFingerprint(f.issuer) : "none"));
  const describe = (groups: Map<string, ProxyTrustFact[]>): string => [...groups].map(([k, v]) => `[${k}]: ${v.length} (${pods(v)})`).join("; ");
  if (bundles.size > 1) {
    return {
      name,
      ok: false,
      message: `proxies trust different anchors: ${describe(bundles)}${silentNote}`,
      hint: "a proxy that keeps an old bundle logs why: kubectl logs POD -c weft-proxy | grep trust (a bundle that would not verify its own leaf is refused: renew first)",
    };
  }
  const [bundle] = [...bundles.keys()];
  const issuerText = issuers.size === 1
    ? `leaves from issuer ${[...issuers.keys()][0] ?? ""}`
    : `leaves from ${issuers.size} issuers (a rotation in progress; weft identity renew re-issues the rest now): ${describe(issuers)}`;
  return { name, ok: true, message: `${reporting.length} proxies trust anchors [${bundle ?? ""}]; ${issuerText}${silentNote}`, hint: "" };
}
