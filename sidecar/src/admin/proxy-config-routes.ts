// The /proxy-config/* pages of the admin port, the data behind `weft
// proxy-config`. Like /config they are diagnostics, so server.ts serves them to
// loopback peers only: the CLI arrives through pods/portforward (the user's
// own RBAC), never through the pod network.
import type { CredentialsSource } from "../identity/credentials-source.ts";
import type { MeshView } from "../discovery/mesh-view.ts";
import { bootstrapView, certificatesView, endpointsView, policyView, routesView, type EndpointLoadView } from "./proxy-config-view.ts";

export const PROXY_CONFIG_PREFIX = "/proxy-config/";

export interface ProxyConfigSources {
  view: MeshView;
  credentials: CredentialsSource;
  /** The balancer's state per "address:port"; absent in a proxy without an outbound side. */
  loads?: () => ReadonlyMap<string, EndpointLoadView>;
  /** The proxy's effective configuration (redacted again here, whatever the caller passes). */
  bootstrap?: () => unknown;
  /** Written into the bootstrap page; the proxy's build. */
  proxyVersion?: string;
  now?: () => number;
}

/** The JSON body for a /proxy-config/ path, or undefined for a page that does not exist. */
export function proxyConfigPage(path: string, sources: ProxyConfigSources): unknown {
  const now = sources.now ?? Date.now;
  const page = path.slice(PROXY_CONFIG_PREFIX.length);
  switch (page) {
    case "endpoints":
      // Breaker deadlines are on performance.now(), as endpoint-state.ts records them.
      return endpointsView(sources.view.state, sources.loads?.() ?? new Map(), performance.now());
    case "policy":
      return policyView(sources.view.state);
    case "routes":
      return routesView(sources.view.state);
    case "certs": {
      const material = sources.credentials.current();
      return { certificates: certificatesView(material?.credentials.certChainPem, now()) };
    }
    case "bootstrap":
      return { proxyVersion: sources.proxyVersion ?? "", config: bootstrapView(sources.bootstrap?.() ?? null) };
    default:
      return undefined;
  }
}
