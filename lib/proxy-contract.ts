// What the injector, the capture init step and the proxy must agree on: ports,
// the proxy's UID (exempt from capture), the annotations and labels that steer
// injection, and the environment the proxy reads. The Helm chart's values set
// the defaults an operator may change; these names are the fixed contract.

/** Default ports of the proxy inside a pod (the chart's values may override them). */
export const DEFAULT_PROXY_PORTS = {
  /** Outbound capture: the app's outgoing TCP is redirected here. */
  outbound: 4140,
  /** Inbound capture: TCP arriving at the pod (other than excluded ports) is redirected here. */
  inbound: 4143,
  /** Admin: /live, /ready, /metrics, /config. Never captured. */
  admin: 4191,
} as const;

/** The UID the proxy runs as; its own traffic is exempt from outbound capture. */
export const DEFAULT_PROXY_UID = 2102;

export const ANNOTATIONS = {
  inject: "weft.io/inject",
  proxyCpuRequest: "config.weft.io/proxy-cpu-request",
  proxyCpuLimit: "config.weft.io/proxy-cpu-limit",
  proxyMemoryRequest: "config.weft.io/proxy-memory-request",
  proxyMemoryLimit: "config.weft.io/proxy-memory-limit",
  skipInboundPorts: "config.weft.io/skip-inbound-ports",
  skipOutboundPorts: "config.weft.io/skip-outbound-ports",
  opaquePorts: "config.weft.io/opaque-ports",
  logLevel: "config.weft.io/proxy-log-level",
  /** tracing.samplingRatio for this pod's proxy (read by the injector; the proxy sees WEFT_TRACING_SAMPLING_RATIO). */
  tracingSamplingRatio: "config.weft.io/tracing-sampling-ratio",
  /**
   * Set by the injector in CNI mode: the capture flags (a JSON list, the
   * arguments weft-proxy-init would get) the CNI plugin applies to the pod's
   * network namespace. Only read on pods that also carry LABELS.meshed.
   */
  cniCapture: "weft.io/cni-capture",
  /** Set by the injector: the proxy version and the config hash it injected from. */
  injectedBy: "weft.io/injected-by",
} as const;

export const LABELS = {
  /** On a namespace: `enabled` meshes its pods. */
  inject: "weft.io/inject",
  /** On an injected pod: marks it as meshed (the discovery service reads it). */
  meshed: "weft.io/meshed",
} as const;

/** Audience of the projected ServiceAccount token a proxy presents to the identity service. */
export const IDENTITY_TOKEN_AUDIENCE = "identity.weft.io";

/**
 * The control plane's ServiceAccount (the chart's). Its SPIFFE id is the tap
 * component's (it runs in the control plane), the one identity the injector
 * tells every proxy to serve tap to (PROXY_ENV.tapIdentity).
 */
export const CONTROL_PLANE_SERVICE_ACCOUNT = "weft-control-plane";

/** Names of the injected containers and volumes. */
export const CONTAINER_NAMES = { proxy: "weft-proxy", init: "weft-init", validate: "weft-validate" } as const;
export const TOKEN_VOLUME = { name: "weft-identity-token", mountPath: "/var/run/secrets/weft.io/identity", file: "token" } as const;

/** Environment variables the proxy reads (set by the injector through the downward API and config). */
export const PROXY_ENV = {
  podName: "WEFT_POD_NAME",
  podNamespace: "WEFT_POD_NAMESPACE",
  serviceAccount: "WEFT_SERVICE_ACCOUNT",
  nodeName: "WEFT_NODE_NAME",
  podIp: "WEFT_POD_IP",
  zone: "WEFT_ZONE",
  controlPlaneAddress: "WEFT_CONTROL_PLANE_ADDRESS",
  /** host:port of the discovery service (its own port: it requires client certificates, Certify cannot). */
  discoveryAddress: "WEFT_DISCOVERY_ADDRESS",
  identityTokenFile: "WEFT_IDENTITY_TOKEN_FILE",
  trustAnchorsFile: "WEFT_TRUST_ANCHORS_FILE",
  trustDomain: "WEFT_TRUST_DOMAIN",
  logLevel: "WEFT_LOG_LEVEL",
  opaquePorts: "WEFT_OPAQUE_PORTS",
  inboundPort: "WEFT_INBOUND_PORT",
  outboundPort: "WEFT_OUTBOUND_PORT",
  adminPort: "WEFT_ADMIN_PORT",
  /** The tap component's SPIFFE id, the only one a proxy serves tap to (lib/tap-contract.ts); unset: tap off. */
  tapIdentity: "WEFT_TAP_IDENTITY",
  // Tracing (lib/tracing-config.ts TRACING_ENV): no endpoint, no tracing.
  tracingEndpoint: "WEFT_TRACING_ENDPOINT",
  tracingProtocol: "WEFT_TRACING_PROTOCOL",
  tracingSamplingRatio: "WEFT_TRACING_SAMPLING_RATIO",
  tracingPropagation: "WEFT_TRACING_PROPAGATION",
  tracingMaxQueueSize: "WEFT_TRACING_MAX_QUEUE_SIZE",
  tracingServiceName: "WEFT_TRACING_SERVICE_NAME",
} as const;

/**
 * Environment the injector (webhook/src) sets beyond PROXY_ENV:
 * the trust anchors inline (PEM), since a file would need a volume in every
 * namespace; and the app's original kubelet probes, which the injector rewrites
 * to the admin port at /app-health/<container>/<livez|readyz|startupz> so they
 * keep working under inbound capture (JSON: path -> probe target; docs/injection.md).
 */
export const PROXY_ENV_INJECTOR = {
  trustAnchorsPem: "WEFT_TRUST_ANCHORS_PEM",
  appProbes: "WEFT_APP_PROBES",
} as const;

/** Admin-port path prefix the injector rewrites app probes to (see PROXY_ENV_INJECTOR.appProbes). */
export const APP_HEALTH_PATH_PREFIX = "/app-health/";

/**
 * Added by the injector: an emptyDir mounted at /run in the init container, so
 * iptables can take its lock (/run/xtables.lock) under a read-only root filesystem.
 */
export const INIT_XTABLES_VOLUME = { name: "weft-xtables-lock", mountPath: "/run" } as const;
