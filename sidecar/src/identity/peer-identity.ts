// The SPIFFE id in a certificate's URI SAN, as the data plane reads it on every
// handshake. Same rule as lib/pki.ts's spiffeIdFromSubjectAltName (exactly one
// spiffe:// URI), kept here so the proxy does not load the certificate-issuing
// libraries (@peculiar/x509 and friends cost ~30 MB of RSS).
import { fail, ok, type Result } from "../../../lib/result.ts";
import { parseSpiffeId } from "../../../lib/spiffe.ts";

export function spiffeIdOfSan(subjectAltName: string | undefined): Result<string> {
  let found: string | undefined;
  for (const part of (subjectAltName ?? "").split(/,\s*/)) {
    if (!part.startsWith("URI:spiffe://")) continue;
    if (found !== undefined) return fail("no-spiffe-id", "certificate has more than one spiffe:// URI SAN");
    found = part.slice(4);
  }
  if (found === undefined) return fail("no-spiffe-id", "certificate has no spiffe:// URI SAN");
  const id = parseSpiffeId(found);
  return id.ok ? ok(found) : id;
}
