// Control-plane mode: certificates from the identity service (renewed in the
// background) and the mesh state from the discovery stream. Both keep what
// they have while the control plane is unreachable, so the proxy keeps serving.
import { readFile } from "node:fs/promises";
import type { Logger } from "../../lib/log.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { formatSpiffeId } from "../../lib/spiffe.ts";
import { fromCredentialStore, type CredentialsHolder } from "./identity/credentials-source.ts";
import { DiscoveryClient } from "./discovery/client.ts";
import { validateInboundAuthorization } from "./authz/compile.ts";
import { validateRoutes } from "./routing/route-table.ts";
import { discoveryTlsOf, startProxyIdentity } from "./identity/bootstrap.ts";
import { tokenFromFile } from "./identity/token.ts";
import type { TrustStatus } from "./identity/trust-watch.ts";
import type { MeshView } from "./discovery/mesh-view.ts";
import type { MeshState } from "./discovery/mesh-state.ts";
import type { ControlPlaneMode, ProxyConfig } from "./proxy-config.ts";

export interface ControlPlaneSession {
  credentials: CredentialsHolder;
  /** The pushed trust bundle: what became of each (metrics) and the issuer now signing. */
  trust: TrustStatus;
  /** Stops renewing and discovering, and closes both gRPC clients. */
  stop(): void;
}

/**
 * The discovery client's validate hook: a snapshot whose Authorization cannot
 * be enforced, or whose routes cannot be followed (a regex that does not
 * compile, a match naming no rule), is NACKed, and the proxy keeps the last
 * good one. Unchanged route sets keep their compiled table, so a delta
 * compiles only what it changed.
 */
export function validateMeshState(state: MeshState): Result<void> {
  const authz = validateInboundAuthorization(state.policy.inbound);
  return authz.ok ? validateRoutes(state.routes.values()) : authz;
}

async function bootstrapAnchors(anchors: ControlPlaneMode["trustAnchors"]): Promise<Result<string>> {
  if ("pem" in anchors) return ok(anchors.pem);
  try {
    return ok(await readFile(anchors.file, "utf8"));
  } catch (err) {
    return fail("unreadable", `cannot read trust anchors: ${(err as Error).message}`);
  }
}

export async function startControlPlaneMode(mode: ControlPlaneMode, proxy: Pick<ProxyConfig, "workload" | "zone">, view: MeshView, logger: Logger): Promise<Result<ControlPlaneSession>> {
  const anchorsPem = await bootstrapAnchors(mode.trustAnchors);
  if (!anchorsPem.ok) return anchorsPem;
  const identity = await startProxyIdentity({
    address: mode.address,
    trustAnchorsPem: anchorsPem.value,
    serverIdentity: mode.serverIdentity,
    token: tokenFromFile(mode.identityTokenFile),
    spiffeId: formatSpiffeId(mode.identity),
    logger,
  });
  const store = identity.store;
  const discovery = new DiscoveryClient({
    address: mode.discoveryAddress,
    tls: () => {
      const current = store.current();
      return current ? discoveryTlsOf(current) : { keyPem: "", certChainPem: "", anchorsPem: anchorsPem.value };
    },
    serverIdentity: mode.serverIdentity,
    hello: { workload: proxy.workload, zone: proxy.zone, node: mode.nodeName },
    logger,
    validate: validateMeshState,
  });
  discovery.on("update", (state) => view.update(state));
  discovery.start();
  return ok({
    credentials: fromCredentialStore(store),
    trust: identity.trust,
    stop: () => {
      discovery.stop();
      identity.stop();
    },
  });
}
