// SPIFFE identities of Kubernetes workloads: spiffe://<trust-domain>/ns/<ns>/sa/<sa>.
// The control plane writes them into certificates and the proxies check them on
// every connection, so both sides share this one parser.
import { fail, ok, type Result } from "./result.ts";

export const DEFAULT_TRUST_DOMAIN = "cluster.local";

export interface WorkloadIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

// DNS-1123 labels (namespaces) and subdomains (ServiceAccounts), as Kubernetes validates them.
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;

export function formatSpiffeId(id: WorkloadIdentity): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

export function validateIdentity(id: WorkloadIdentity): Result<WorkloadIdentity> {
  if (!TRUST_DOMAIN.test(id.trustDomain)) return fail("bad-trust-domain", `invalid trust domain "${id.trustDomain}"`);
  if (!LABEL.test(id.namespace)) return fail("bad-namespace", `invalid namespace "${id.namespace}"`);
  if (!SUBDOMAIN.test(id.serviceAccount)) return fail("bad-service-account", `invalid ServiceAccount "${id.serviceAccount}"`);
  return ok(id);
}

export function parseSpiffeId(uri: string): Result<WorkloadIdentity> {
  const match = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (!match) return fail("not-a-workload-id", `"${uri}" is not a spiffe://<trust-domain>/ns/<ns>/sa/<sa> id`);
  const [, trustDomain = "", namespace = "", serviceAccount = ""] = match;
  return validateIdentity({ trustDomain, namespace, serviceAccount });
}

/** Maps a Kubernetes ServiceAccount username (system:serviceaccount:NS:SA) to its identity. */
export function identityFromServiceAccountUser(username: string, trustDomain: string): Result<WorkloadIdentity> {
  const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  if (!match) return fail("not-a-service-account", `"${username}" is not a ServiceAccount user`);
  const [, namespace = "", serviceAccount = ""] = match;
  return validateIdentity({ trustDomain, namespace, serviceAccount });
}

/**
 * The one SPIFFE id in Node's `subjectaltname` string form of a peer certificate ("URI:spiffe://..., DNS:...").
 * Lets TLS peers be identified without loading an X.509 library (lib/pki.ts has the certificate-level variant).
 */
export function spiffeIdFromSubjectAltNameString(subjectAltName: string | undefined): Result<WorkloadIdentity & { uri: string }> {
  const uris = (subjectAltName ?? "").split(/,\s*/).filter((s) => s.startsWith("URI:spiffe://")).map((s) => s.slice(4));
  if (uris.length !== 1) return fail("no-spiffe-id", `certificate has ${uris.length} spiffe:// URI SANs, want exactly 1`);
  const uri = uris[0] ?? "";
  const id = parseSpiffeId(uri);
  return id.ok ? ok({ ...id.value, uri }) : id;
}
