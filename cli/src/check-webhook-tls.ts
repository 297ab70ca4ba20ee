// A TLS handshake with the webhook, as the apiserver makes it: to the Service's
// ClusterIP, with the Service's DNS name as servername, trusting only the caBundle.
// The apiserver's service proxy cannot show a TLS peer's certificate, so this only
// works where the ClusterIP is reachable (on a node, in a pod, in some VPNs); anywhere
// else the caller falls back to the Secret.
import { checkServerIdentity, connect, type PeerCertificate } from "node:tls";
import type { ServedCertFact } from "./check-results.ts";

export interface HandshakeTarget {
  host: string;
  port: number;
  servername: string;
  caPem: string;
  timeoutMs?: number;
}

const NOT_FROM_BUNDLE = new Set(["DEPTH_ZERO_SELF_SIGNED_CERT", "SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "UNABLE_TO_GET_ISSUER_CERT", "CERT_SIGNATURE_FAILURE"]);

function explain(code: string, servername: string): string {
  if (NOT_FROM_BUNDLE.has(code)) return `not issued by the caBundle's CA (${code})`;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return `does not name ${servername} (${code})`;
  if (code === "CERT_HAS_EXPIRED") return "expired";
  return code;
}

export function servedCertificate(target: HandshakeTarget): Promise<ServedCertFact> {
  const address = `${target.host}:${target.port}`;
  return new Promise((done) => {
    let tcpConnected = false;
    let settled = false;
    const finish = (fact: ServedCertFact) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      done(fact);
    };
    // Verification is done below, so the handshake completes and the reason can be reported.
    const socket = connect({ host: target.host, port: target.port, servername: target.servername, ca: target.caPem, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      finish(tcpConnected
        ? { reached: true, address, verified: false, detail: "TLS handshake timed out" }
        : { reached: false, address, detail: `no connection within ${target.timeoutMs ?? 3000} ms` });
    }, target.timeoutMs ?? 3000);
    socket.once("connect", () => {
      tcpConnected = true;
    });
    socket.once("secureConnect", () => {
      const peer: PeerCertificate = socket.getPeerCertificate();
      if (!socket.authorized) {
        // Node reports an OpenSSL code here (typed as an Error, a string at run time).
        const code = String(socket.authorizationError instanceof Error ? socket.authorizationError.message : socket.authorizationError);
        const why = explain(code, target.servername);
        finish({ reached: true, address, verified: false, detail: `${why} (served: CN=${peer.subject?.CN ?? "?"}, issued by CN=${peer.issuer?.CN ?? "?"})` });
        return;
      }
      const nameError = checkServerIdentity(target.servername, peer);
      if (nameError !== undefined) finish({ reached: true, address, verified: false, detail: nameError.message });
      else finish({ reached: true, address, verified: true, detail: "" });
    });
    socket.once("error", (err) => {
      finish(tcpConnected
        ? { reached: true, address, verified: false, detail: `TLS handshake failed: ${err.message}` }
        : { reached: false, address, detail: err.message });
    });
  });
}
