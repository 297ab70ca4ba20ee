// Control-plane mode: certificates from the identity service (renewed in the
// background) and the mesh state from the discovery stream. Both keep what
// they have while the control plane is unreachable, so the proxy keeps serving.
import { readFile } from "node:fs/promises";
import type { Logger } from "../../lib/log.ts";
import { PROXY_ENV, PROXY_ENV_INJECTOR } from "../../lib/proxy-contract.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { DEFAULT_TRUST_DOMAIN, formatSpiffeId } from "../../lib/spiffe.ts";
import { fromCredentialStore, type CredentialsHolder } from "./identity/credentials-source.ts";
import { CredentialStore } from "./identity/credentials-store.ts";
import { DiscoveryClient } from "./discovery/client.ts";
import { IdentityClient } from "./identity/client.ts";
import { IdentityRenewer } from "./identity/renewer.ts";
import { tokenFromFile } from "./identity/token.ts";
import type { MeshView } from "./discovery/mesh-view.ts";
import type { ProxyConfig } from "./proxy-config.ts";

export async function startControlPlaneMode(c: ProxyConfig, view: MeshView, logger: Logger): Promise<Result<{ credentials: CredentialsHolder; stop: () => void }>> {
  const address = c.controlPlane ?? "";
  let anchorsPem = process.env[PROXY_ENV_INJECTOR.trustAnchorsPem] ?? "";
  if (!anchorsPem && c.trustAnchors) {
    try {
      anchorsPem = await readFile(c.trustAnchors, "utf8");
    } catch (err) {
      return fail("unreadable", `cannot read trust anchors: ${(err as Error).message}`);
    }
  }
  if (!anchorsPem) return fail("bad-config", "control-plane mode needs trust anchors (--trust-anchors or WEFT_TRUST_ANCHORS_PEM)");
  if (!c.identityTokenFile) return fail("bad-config", "control-plane mode needs --identity-token-file");
  const namespace = process.env[PROXY_ENV.podNamespace] ?? "default";
  const serviceAccount = process.env[PROXY_ENV.serviceAccount] ?? "default";
  const spiffeId = formatSpiffeId({ trustDomain: c.trustDomain ?? DEFAULT_TRUST_DOMAIN, namespace, serviceAccount });
  const store = new CredentialStore();
  const identity = new IdentityClient({ address, trustAnchorsPem: anchorsPem, serverIdentity: c.controlPlaneIdentity });
  const renewer = new IdentityRenewer({ certifier: identity, store, token: tokenFromFile(c.identityTokenFile), spiffeId, logger });
  await renewer.start();
  const credentials = fromCredentialStore(store);
  // The control plane serves discovery on its own port (client certificates
  // required, unlike Certify); WEFT_DISCOVERY_ADDRESS names it when it differs.
  const discovery = new DiscoveryClient({
    address: process.env[PROXY_ENV.discoveryAddress] || address,
    tls: () => {
      const cur = store.current();
      return { keyPem: cur?.key ?? "", certChainPem: cur?.certChain ?? "", anchorsPem: cur?.trustAnchors ?? anchorsPem };
    },
    serverIdentity: c.controlPlaneIdentity,
    hello: { workload: c.workload, zone: c.zone, node: process.env[PROXY_ENV.nodeName] ?? "" },
    logger,
  });
  discovery.on("update", (state) => view.update(state));
  discovery.start();
  return ok({
    credentials,
    stop: () => {
      discovery.stop();
      renewer.stop();
    },
  });
}
