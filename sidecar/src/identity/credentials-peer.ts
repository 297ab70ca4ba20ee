// The peer's identity on a mesh connection: the SPIFFE id in the URI SAN of the
// certificate it presented (already verified against the trust anchors by the
// handshake). The proxy's authorization checks start from here.
import type { PeerCertificate, TLSSocket } from "node:tls";
import { spiffeIdOfCertificate } from "../../../lib/x509-verify.ts";
import { fail, type Result } from "../../../lib/result.ts";
import { spiffeIdFromSubjectAltName, type WorkloadIdentity } from "../../../lib/spiffe.ts";

export type PeerIdentity = WorkloadIdentity & { uri: string };

/** The verified peer's SPIFFE id, or why there is none. */
export function peerSpiffeId(socket: TLSSocket): Result<PeerIdentity> {
  if (!socket.authorized) return fail("peer-unauthorized", `peer certificate not verified: ${String(socket.authorizationError ?? "none presented")}`);
  const cert = socket.getPeerX509Certificate();
  if (!cert) return fail("no-peer-certificate", "peer presented no certificate");
  return spiffeIdOfCertificate(cert);
}

/** A tls checkServerIdentity that checks the SPIFFE id instead of a hostname. */
export function checkServerSpiffeId(expected?: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const id = spiffeIdFromSubjectAltName(cert.subjectaltname);
    if (!id.ok) return new Error(`server certificate: ${id.message}`);
    if (expected !== undefined && id.value.uri !== expected) return new Error(`server is ${id.value.uri}, expected ${expected}`);
    return undefined;
  };
}
