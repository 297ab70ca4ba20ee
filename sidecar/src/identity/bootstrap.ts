// The proxy's identity, wired once for control-plane mode and for tests alike:
// the credential store, kept fresh by the renewer through the identity client.
// Resolves once the first certificate is in; until then (and while the control
// plane is unreachable) it keeps retrying.
import type { Logger } from "../../../lib/log.ts";
import { CredentialStore, type Credentials } from "./credentials-store.ts";
import { IdentityClient, type IdentityClientOptions } from "./client.ts";
import { IdentityRenewer } from "./renewer.ts";
import type { RenewalPolicy } from "./schedule.ts";
import { TrustWatcher, type TrustUpdateResult } from "./trust-watch.ts";

export interface ProxyIdentityOptions {
  /** host:port of the control plane's identity service. */
  address: string;
  /** Bootstrap trust anchors (PEM) to verify the control plane with. */
  trustAnchorsPem: string;
  /** The control plane's SPIFFE id, e.g. spiffe://cluster.local/ns/weft/sa/weft-control-plane. */
  serverIdentity?: string;
  /** Proof of identity, called before every request (tokenFromFile re-reads the projected token). */
  token: () => string | Promise<string>;
  /** This proxy's SPIFFE id. */
  spiffeId: string;
  logger: Logger;
  policy?: Partial<RenewalPolicy>;
  /** Spread of "renew now" (default DEFAULT_RENEW_JITTER_MS). */
  renewJitterMs?: number;
  onTrustUpdate?: (result: TrustUpdateResult) => void;
  /** The identity channel's keepalive (default DEFAULT_IDENTITY_KEEPALIVE). */
  keepalive?: IdentityClientOptions["keepalive"];
}

export interface ProxyIdentity {
  store: CredentialStore;
  renewer: IdentityRenewer;
  /** The pushed trust bundle and "renew now" (WatchTrust). */
  trust: TrustWatcher;
  /** Cancels the next renewal and closes the identity client's channel. */
  stop(): void;
}

export async function startProxyIdentity(options: ProxyIdentityOptions): Promise<ProxyIdentity> {
  const store = new CredentialStore();
  const client = new IdentityClient({ address: options.address, trustAnchorsPem: options.trustAnchorsPem, ...(options.serverIdentity ? { serverIdentity: options.serverIdentity } : {}), ...(options.keepalive ? { keepalive: options.keepalive } : {}) });
  const renewer = new IdentityRenewer({
    certifier: client,
    store,
    token: options.token,
    spiffeId: options.spiffeId,
    logger: options.logger.child({ component: "identity" }),
    ...(options.policy ? { policy: options.policy } : {}),
  });
  await renewer.start();
  const trust = new TrustWatcher({
    source: client,
    store,
    renewer,
    logger: options.logger.child({ component: "trust" }),
    ...(options.renewJitterMs !== undefined ? { renewJitterMs: options.renewJitterMs } : {}),
    ...(options.onTrustUpdate ? { onUpdate: options.onTrustUpdate } : {}),
  });
  trust.start();
  return {
    store,
    renewer,
    trust,
    stop() {
      trust.stop();
      renewer.stop();
      client.close();
    },
  };
}

/** The credentials in the shape the discovery client's `tls` option takes. */
export function discoveryTlsOf(c: Credentials): { keyPem: string; certChainPem: string; anchorsPem: string } {
  return { keyPem: c.key, certChainPem: c.certChain, anchorsPem: c.trustAnchors };
}
