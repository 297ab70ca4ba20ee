// The one TLS policy for every port Weft serves or dials: the proxy's inbound
// mTLS and its outbound client, the control plane's identity and discovery
// servers, the webhook. TLS 1.3 suites are all AEAD already; TLS 1.2, kept for
// clients that have nothing newer (an apiserver, an older gRPC client), is
// limited to forward-secret AEAD suites: ECDHE key exchange with AES-GCM or
// ChaCha20-Poly1305. That leaves out CBC (padding-oracle and Lucky13 attacks)
// and RSA key exchange (no forward secrecy), which node's default list still
// offers. ECDSA suites serve Weft's P-256 certificates; the RSA ones serve a
// webhook or serving certificate someone brings in RSA.
//
// Node resets a server's cipher list to its default on every setSecureContext
// call that does not name one, so each context Weft builds (first or rotated)
// spreads these options in; a server's constructor options alone do not last.
import type { SecureContextOptions } from "node:tls";

/** TLS 1.2 suites, strongest first (OpenSSL names); TLS 1.3's own suites are untouched by this list. */
export const TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/** The options every Weft TLS context carries: TLS 1.2 at least, and only the suites above on it. */
export const TLS_POLICY = {
  minVersion: "TLSv1.2",
  ciphers: TLS12_CIPHERS,
  // The server's order, not the client's: a client preferring a weaker allowed suite does not get it.
  honorCipherOrder: true,
} as const satisfies SecureContextOptions;
