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
const LABEL_SOURCE = "[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?";
const SUBDOMAIN_SOURCE = "[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?";
const TRUST_DOMAIN_SOURCE = "[a-z0-9._-]{1,255}";
const LABEL = new RegExp(`^${LABEL_SOURCE}$`);
const SUBDOMAIN = new RegExp(`^${SUBDOMAIN_SOURCE}$`);
const TRUST_DOMAIN = new RegExp(`^${TRUST_DOMAIN_SOURCE}$`);
// The same grammar as one test, for the handshake path: no part can hold a "/",
// so it accepts exactly what parseSpiffeId accepts, without allocating the parts.
const WORKLOAD_ID = new RegExp(`^spiffe://${TRUST_DOMAIN_SOURCE}/ns/${LABEL_SOURCE}/sa/${SUBDOMAIN_SOURCE}$`);

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

// ------------------------------------------------ Node's subjectaltname string
//
// Node prints a certificate's SANs (X509Certificate.subjectAltName, a TLS peer's
// getPeerCertificate().subjectaltname) as "TYPE:value" entries joined by ", ".
// A value holding a comma, quote, backslash, apostrophe or a character outside
// printable ASCII is printed as a JSON string instead (`URI:"spiffe://a\u002cb"`,
// `DirName:"CN=x"`, `othername:"XmppAddr:..."`), so a crafted name cannot pose
// as a second entry. Reading it here spares the proxy an X.509 library
// (@peculiar/x509 and friends cost ~30 MB of RSS).

const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const URI_PREFIX = "URI:";
const SPIFFE_SCHEME = "spiffe://";

/** Index just past the JSON string opening at `open`, or -1 if it never closes. */
function skipQuoted(san: string, open: number): number {
  for (let i = open + 1; i < san.length; i++) {
    const c = san.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

/** Index of the comma ending the entry that starts at `start` (or the length), or -1 for an unclosed quote. */
function entryEnd(san: string, start: number): number {
  let i = start;
  while (i < san.length) {
    const c = san.charCodeAt(i);
    if (c === COMMA) return i;
    if (c === QUOTE) {
      i = skipQuoted(san, i);
      if (i < 0) return -1;
    } else {
      i++;
    }
  }
  return san.length;
}

/** The URI of a spiffe:// URI entry, plain or quoted; undefined for any other entry. */
function spiffeUriOfEntry(san: string, start: number, end: number): string | undefined {
  if (!san.startsWith(URI_PREFIX, start)) return undefined;
  const value = start + URI_PREFIX.length;
  if (san.startsWith(SPIFFE_SCHEME, value)) return san.slice(value, end);
  if (san.charCodeAt(value) !== QUOTE) return undefined;
  // Quoted values are never workload ids (every character Node quotes for is
  // outside the grammar), but they still count against "exactly one". One that
  // does not decode is counted too, so a malformed string fails closed.
  const raw = san.slice(value, end);
  let decoded: unknown;
  try {
    decoded = JSON.parse(raw);
  } catch {
    return raw;
  }
  if (typeof decoded !== "string") return raw;
  return decoded.startsWith(SPIFFE_SCHEME) ? decoded : undefined;
}

/**
 * The SPIFFE id (the URI) of a certificate from Node's `subjectaltname` string:
 * it must carry exactly one spiffe:// URI SAN, and that URI must be a workload id.
 * The proxy calls this on every handshake, so it allocates only the URI and the result.
 */
export function spiffeIdOfSan(subjectAltName: string | undefined): Result<string> {
  const san = subjectAltName ?? "";
  let found: string | undefined;
  let start = 0;
  while (start < san.length) {
    const end = entryEnd(san, start);
    if (end < 0) return fail("bad-subject-alt-name", "certificate's subjectAltName has an unclosed quoted name");
    const uri = spiffeUriOfEntry(san, start, end);
    if (uri !== undefined) {
      if (found !== undefined) return fail("no-spiffe-id", "certificate has more than one spiffe:// URI SAN");
      found = uri;
    }
    start = end + 1;
    while (san.charCodeAt(start) === SPACE) start++;
  }
  if (found === undefined) return fail("no-spiffe-id", "certificate has no spiffe:// URI SAN");
  if (WORKLOAD_ID.test(found)) return ok(found);
  const id = parseSpiffeId(found);
  return id.ok ? ok(found) : id;
}

/** As spiffeIdOfSan, with the identity's parts. */
export function spiffeIdFromSubjectAltName(subjectAltName: string | undefined): Result<WorkloadIdentity & { uri: string }> {
  const uri = spiffeIdOfSan(subjectAltName);
  if (!uri.ok) return uri;
  const id = parseSpiffeId(uri.value);
  return id.ok ? ok({ ...id.value, uri: uri.value }) : id;
}
