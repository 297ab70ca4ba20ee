// What both ends of a hop between proxies agree on: the ALPN names that say
// how the connection is framed, and how a failed handshake is reported. The
// inbound listener and the outbound peer pool both read these.
export const ALPN_H2 = "h2";
export const ALPN_OPAQUE = "weft.opaque/1";
/** HTTP/1.1 requests framed by Weft, one at a time per pooled connection (docs/decisions.md, "Proxy: transport"). */
export const ALPN_H1 = "weft.h1/1";

/** Why a TLS connection to a peer failed, as a metrics label. */
export function classifyTlsError(err: Error & { code?: string }): string {
  if (err.code === "ERR_WEFT_WRONG_IDENTITY") return "wrong-identity";
  if (err.code === "ECONNREFUSED" || err.code === "ECONNRESET" || err.code === "ETIMEDOUT") return "connect";
  if (err.code && /CERT|SELF_SIGNED|SIGNATURE|ISSUER/.test(err.code)) return "untrusted";
  return "handshake";
}

