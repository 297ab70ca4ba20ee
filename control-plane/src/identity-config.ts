// The control plane's configuration: one typed object, parsed and validated
// once from flags where it enters (main.ts), then passed down. Durations are
// lib/duration.ts's (90s, 15m, 24h, 365d).
import { parseArgs } from "node:util";
import { DEFAULT_POLICY_NAMES, MESH_DEFAULT_POLICY, formatDefaultPolicy, parseDefaultPolicy, type DefaultPolicy } from "../../lib/authz/default-policy.ts";
import { MAX_TIMER_MS, parseDuration } from "../../lib/duration.ts";
import { DEFAULT_TRUST_DOMAIN, validateIdentity } from "../../lib/spiffe.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { DEFAULT_MAX_STREAMS_PER_CERTIFICATE } from "./discovery-server.ts";
import { DEFAULT_IDENTITY_LIMITS } from "./identity-server.ts";

export interface ControlPlaneConfig {
  mode: "kubernetes" | "local";
  issuerDir: string;
  anchorsFile: string | undefined;
  /** `weft identity renew` writes here (default <issuer-dir>/renew-before). */
  renewFile?: string | undefined;
  trustDomain: string;
  host: string;
  identityPort: number;
  adminPort: number;
  /** Discovery gRPC port (mTLS: proxies present their workload certificate). */
  discoveryPort: number;
  /** Local mode: the service registry YAML (undefined: registry.yaml in the issuer dir). */
  registryFile: string | undefined;
  leafLifetimeMs: number;
  kubeconfig: string | undefined;
  localTokenKeyFile: string | undefined;
  /** The control plane's own identity (its serving certificate's SPIFFE id). */
  namespace: string;
  serviceAccount: string;
  logLevel: "debug" | "info" | "warn" | "error";
  caPollMs: number;
  drainMs: number;
  /** The identity port's bounds (identity-server.ts IdentityLimits); the rest keep their defaults. */
  identityLimits: { maxConnections: number; maxConnectionsPerPeer: number; maxInFlight: number };
  /** Discovery streams open at once with one workload certificate. */
  discoveryMaxStreamsPerCertificate: number;
  /** The mesh-wide default inbound policy (namespaces and pods may set their own by annotation). */
  defaultInboundPolicy: DefaultPolicy;
  /** The tap API (aggregated as tap.weft.io; tap-server.ts): its TLS port, or undefined for none. Kubernetes mode only. */
  tapPort?: number;
  /** The tap API's serving certificate for the apiserver (tap-serving-tls.ts); absent: the workload certificate. */
  tapTls?: { certFile: string; keyFile: string };
}

export const CONTROL_PLANE_USAGE = `usage: weft-control-plane --issuer-dir DIR [flags]
  --mode kubernetes|local   how proxies prove their identity (default kubernetes: TokenReview)
  --issuer-dir DIR          issuer.crt+issuer.key (or tls.crt+tls.key) and ca.crt; watched for changes
  --anchors FILE            trust anchors bundle (default DIR/ca.crt); watched for changes
  --renew-file FILE         "renew now" instant written by weft identity renew (default DIR/renew-before)
  --trust-domain TD         SPIFFE trust domain (default cluster.local)
  --host ADDR               listen address (default 0.0.0.0)
  --identity-port N         identity gRPC port (default 8080; 0 picks one); --port N is the same flag
  --admin-port N            /metrics /live /ready (default 9990; 0 picks one)
  --discovery-port N        discovery gRPC port, mTLS (default 8087; 0 picks one)
  --tap-port N              the tap API for the apiserver's aggregation layer (tap.weft.io; default: off)
  --tap-tls-cert FILE, --tap-tls-key FILE   the tap API's serving certificate (the APIService's caBundle
                            verifies it; default: the control plane's SPIFFE certificate, which it cannot)
  --registry FILE           local mode: the service registry YAML (default DIR/registry.yaml)
  --leaf-lifetime D         workload certificate lifetime (default 24h)
  --kubeconfig FILE         kubernetes mode: API server credentials (default in-cluster / $KUBECONFIG)
  --local-token-key FILE    local mode: token signing key (default DIR/local-token.key)
  --namespace NS, --service-account SA   the control plane's own identity (default $WEFT_NAMESPACE or weft / weft-control-plane)
  --log-level L             debug|info|warn|error (default info)
  --identity-max-connections N           identity connections open at once (default ${DEFAULT_IDENTITY_LIMITS.maxConnections})
  --identity-max-connections-per-peer N  from one peer address (default ${DEFAULT_IDENTITY_LIMITS.maxConnectionsPerPeer})
  --identity-max-in-flight N             Certify calls in progress; more get RESOURCE_EXHAUSTED (default ${DEFAULT_IDENTITY_LIMITS.maxInFlight})
  --discovery-max-streams-per-certificate N   discovery streams per workload certificate (default ${DEFAULT_MAX_STREAMS_PER_CERTIFICATE})
  --default-inbound-policy P   what admits callers no AuthorizationPolicy covers: ${DEFAULT_POLICY_NAMES.join("|")},
                            each optionally as dry-run:<name> (default ${formatDefaultPolicy(MESH_DEFAULT_POLICY)})`;

function limit(name: string, text: string): Result<number> {
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= 1 ? ok(n) : fail("bad-limit", `--${name}: "${text}" is not a positive integer`);
}

function port(name: string, text: string): Result<number> {
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? ok(n) : fail("bad-port", `--${name}: "${text}" is not a port`);
}

/** `defaults.namespace`: the pod's namespace (main.ts passes $WEFT_NAMESPACE, set from the downward API). */
export function parseControlPlaneFlags(argv: string[], defaults: { namespace?: string } = {}): Result<ControlPlaneConfig> {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: {
        mode: { type: "string", default: "kubernetes" },
        "issuer-dir": { type: "string" },
        anchors: { type: "string" },
        "renew-file": { type: "string" },
        "trust-domain": { type: "string", default: DEFAULT_TRUST_DOMAIN },
        host: { type: "string", default: "0.0.0.0" },
        "identity-port": { type: "string" },
        port: { type: "string" },
        "admin-port": { type: "string", default: "9990" },
        "discovery-port": { type: "string", default: "8087" },
        "tap-port": { type: "string" },
        "tap-tls-cert": { type: "string" },
        "tap-tls-key": { type: "string" },
        registry: { type: "string" },
        "leaf-lifetime": { type: "string", default: "24h" },
        kubeconfig: { type: "string" },
        "local-token-key": { type: "string" },
        namespace: { type: "string", default: defaults.namespace ?? "weft" },
        "service-account": { type: "string", default: "weft-control-plane" },
        "log-level": { type: "string", default: "info" },
        "ca-poll": { type: "string", default: "30s" },
        "drain": { type: "string", default: "10s" },
        "identity-max-connections": { type: "string", default: String(DEFAULT_IDENTITY_LIMITS.maxConnections) },
        "identity-max-connections-per-peer": { type: "string", default: String(DEFAULT_IDENTITY_LIMITS.maxConnectionsPerPeer) },
        "identity-max-in-flight": { type: "string", default: String(DEFAULT_IDENTITY_LIMITS.maxInFlight) },
        "discovery-max-streams-per-certificate": { type: "string", default: String(DEFAULT_MAX_STREAMS_PER_CERTIFICATE) },
        "default-inbound-policy": { type: "string", default: formatDefaultPolicy(MESH_DEFAULT_POLICY) },
      },
    }).values as Record<string, string | undefined>;
  } catch (err) {
    return fail("bad-flag", (err as Error).message);
  }
  const v = (k: string) => values[k] ?? "";
  const mode = v("mode");
  if (mode !== "kubernetes" && mode !== "local") return fail("bad-mode", `--mode must be kubernetes or local, not "${mode}"`);
  if (!values["issuer-dir"]) return fail("missing-issuer-dir", "--issuer-dir is required");
  const logLevel = v("log-level");
  if (!["debug", "info", "warn", "error"].includes(logLevel)) return fail("bad-log-level", `--log-level: "${logLevel}"`);
  const own = validateIdentity({ trustDomain: v("trust-domain"), namespace: v("namespace"), serviceAccount: v("service-account") });
  if (!own.ok) return own;
  if (values["identity-port"] !== undefined && values.port !== undefined && values["identity-port"] !== values.port) {
    return fail("bad-port", "--port and --identity-port name the same port; give one");
  }
  const identityPort = port("identity-port", values["identity-port"] ?? values.port ?? "8080");
  if (!identityPort.ok) return identityPort;
  const adminPort = port("admin-port", v("admin-port"));
  if (!adminPort.ok) return adminPort;
  const discoveryPort = port("discovery-port", v("discovery-port"));
  if (!discoveryPort.ok) return discoveryPort;
  if (values.registry !== undefined && mode !== "local") return fail("bad-flag", "--registry is for --mode local");
  const leaf = parseDuration(v("leaf-lifetime"));
  if (!leaf.ok) return fail(leaf.code, `--leaf-lifetime: ${leaf.message}`);
  // Both become timer delays.
  const poll = parseDuration(v("ca-poll"), { maxMs: MAX_TIMER_MS });
  if (!poll.ok) return fail(poll.code, `--ca-poll: ${poll.message}`);
  const drain = parseDuration(v("drain"), { maxMs: MAX_TIMER_MS });
  if (!drain.ok) return fail(drain.code, `--drain: ${drain.message}`);
  const maxConnections = limit("identity-max-connections", v("identity-max-connections"));
  if (!maxConnections.ok) return maxConnections;
  const maxConnectionsPerPeer = limit("identity-max-connections-per-peer", v("identity-max-connections-per-peer"));
  if (!maxConnectionsPerPeer.ok) return maxConnectionsPerPeer;
  const maxInFlight = limit("identity-max-in-flight", v("identity-max-in-flight"));
  if (!maxInFlight.ok) return maxInFlight;
  const perCertificate = limit("discovery-max-streams-per-certificate", v("discovery-max-streams-per-certificate"));
  if (!perCertificate.ok) return perCertificate;
  const tapPort = values["tap-port"] === undefined ? undefined : port("tap-port", values["tap-port"]);
  if (tapPort && !tapPort.ok) return tapPort;
  const tapCert = values["tap-tls-cert"];
  const tapKey = values["tap-tls-key"];
  if ((tapCert === undefined) !== (tapKey === undefined)) return fail("bad-flag", "--tap-tls-cert and --tap-tls-key go together");
  const defaultInboundPolicy = parseDefaultPolicy(v("default-inbound-policy"));
  if (!defaultInboundPolicy.ok) return fail(defaultInboundPolicy.code, `--default-inbound-policy: ${defaultInboundPolicy.message}`);
  return ok({
    mode,
    issuerDir: v("issuer-dir"),
    anchorsFile: values.anchors,
    renewFile: values["renew-file"],
    trustDomain: own.value.trustDomain,
    host: v("host"),
    identityPort: identityPort.value,
    adminPort: adminPort.value,
    discoveryPort: discoveryPort.value,
    registryFile: values.registry,
    leafLifetimeMs: leaf.value,
    kubeconfig: values.kubeconfig,
    localTokenKeyFile: values["local-token-key"],
    namespace: own.value.namespace,
    serviceAccount: own.value.serviceAccount,
    logLevel: logLevel as ControlPlaneConfig["logLevel"],
    caPollMs: poll.value,
    drainMs: drain.value,
    identityLimits: { maxConnections: maxConnections.value, maxConnectionsPerPeer: maxConnectionsPerPeer.value, maxInFlight: maxInFlight.value },
    discoveryMaxStreamsPerCertificate: perCertificate.value,
    defaultInboundPolicy: defaultInboundPolicy.value,
    ...(tapPort ? { tapPort: tapPort.value } : {}),
    ...(tapCert !== undefined && tapKey !== undefined ? { tapTls: { certFile: tapCert, keyFile: tapKey } } : {}),
  });
}
