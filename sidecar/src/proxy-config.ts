// The proxy's configuration: one typed object, parsed and validated once from
// flags (which win) and the environment the injector sets.
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import type { LevelWithSilent } from "pino";
import { DEFAULT_PROXY_PORTS, PROXY_ENV, PROXY_ENV_INJECTOR } from "../../lib/proxy-contract.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { parsePortList, portsOf } from "../../lib/port-list.ts";
import { DEFAULT_TRUST_DOMAIN, validateIdentity, type WorkloadIdentity } from "../../lib/spiffe.ts";
import { parseAppProbes, type AppProbes } from "./admin/app-probe-parse.ts";

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const satisfies readonly LevelWithSilent[];

/** Static mode: the mesh state and the credentials come from files. */
export interface StaticMode {
  kind: "static";
  snapshotFile: string;
  certFile: string;
  keyFile: string;
  trustAnchorsFile: string;
}

/** Control-plane mode: certificates from the identity service, the mesh state from discovery. */
export interface ControlPlaneMode {
  kind: "control-plane";
  /** host:port of the identity service (Certify). */
  address: string;
  /** host:port of the discovery service: its own port, since it requires client certificates and Certify cannot present one. */
  discoveryAddress: string;
  /** The control plane's SPIFFE id; unset accepts any certificate chaining to the anchors. */
  serverIdentity: string | undefined;
  /** The projected ServiceAccount token, re-read before every request. */
  identityTokenFile: string;
  /** The anchors to verify the control plane with before it hands out a bundle: inline (the injector's) or a file. */
  trustAnchors: { pem: string } | { file: string };
  /** Who this proxy is: the identity its token proves and its certificate names. */
  identity: WorkloadIdentity;
  /** Sent in the discovery hello; empty when unknown. */
  nodeName: string;
}

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ProxyConfig {
  mode: StaticMode | ControlPlaneMode;
  workload: string;
  inboundPort: number;
  outboundPort: number;
  adminPort: number;
  listenHost: string;
  zone: string;
  opaquePorts: Set<number>;
  logLevel: LogLevel;
  outboundBinds: { listenPort: number; address: string; port: number }[];
  inboundApps: { listenPort: number; appPort: number }[];
  endpointDial: Map<string, { host: string; port: number }>;
  appHost: string;
  detectTimeoutMs: number;
  appProbes: AppProbes;
  peerTransport: "h2" | "h1";
  /** SPIFFE ids that may tap this proxy (the tap component's); empty: tap is off. */
  tapIdentities: string[];
}

export const USAGE = `weft-proxy: the Weft sidecar proxy

Static mode (no control plane):
  --static-snapshot <file.json>   full discovery Snapshot as JSON
  --cert <chain.pem> --key <key.pem> --trust-anchors <anchors.pem>
Control-plane mode:
  --control-plane <host:port>     discovery and identity service
  --control-plane-identity <spiffe-id>   the control plane's identity (default: any the anchors sign)
  --identity-token-file <path>    projected ServiceAccount token
  --trust-anchors <anchors.pem>   (or WEFT_TRUST_ANCHORS_PEM)
  --trust-domain <domain>         (default cluster.local)
Ports and behaviour:
  --workload <name>               this proxy's name to discovery (default: the pod's name)
  --inbound-port N --outbound-port N --admin-port N   (defaults 4143/4140/4191; 0 disables)
  --listen-host <ip>              address for the inbound and admin listeners (default 0.0.0.0)
  --zone <zone>                   for zone-aware balancing
  --opaque-ports <list>           e.g. 25,3306,8000-8010: no protocol detection
  --peer-transport h1|h2          HTTP/1.1 requests to peer proxies: pooled HTTP/1.1 (default) or
                                  HTTP/2 streams (for peers older than weft.h1/1)
  --tap-identity <spiffe-id>      the tap component's identity, the only one served tap
                                  (ALPN weft.tap/1 on the inbound port; unset: tap off)
  --log-level <level>
  --detect-timeout-ms N           give up detecting after N ms (default 300)
Local mode (no iptables):
  --outbound-bind <listenPort>=<ip:port>     repeatable: a listener whose destination is fixed
  --inbound-app <listenPort>=<appPort>       repeatable: an inbound listener for one app port
  --endpoint-dial <ip:port>=<host:port>      repeatable: dial this endpoint's proxy elsewhere
  --app-host <ip>                 where the app listens (default 127.0.0.1)
Environment (set by the injector; flags win):
  WEFT_POD_NAMESPACE, WEFT_SERVICE_ACCOUNT   this proxy's identity (required in control-plane mode)
  WEFT_DISCOVERY_ADDRESS          discovery service, when not at --control-plane's address
  WEFT_NODE_NAME, WEFT_APP_PROBES, and a WEFT_* fallback for most flags (lib/proxy-contract.ts)
`;

type Env = Readonly<Record<string, string | undefined>>;

// Every flag takes a value; the three local-mode ones may repeat, the others keep their last value.
const FLAGS = {
  "static-snapshot": { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  "trust-anchors": { type: "string" },
  "control-plane": { type: "string" },
  "control-plane-identity": { type: "string" },
  "identity-token-file": { type: "string" },
  "trust-domain": { type: "string" },
  workload: { type: "string" },
  "inbound-port": { type: "string" },
  "outbound-port": { type: "string" },
  "admin-port": { type: "string" },
  "listen-host": { type: "string" },
  zone: { type: "string" },
  "opaque-ports": { type: "string" },
  "log-level": { type: "string" },
  "outbound-bind": { type: "string", multiple: true },
  "inbound-app": { type: "string", multiple: true },
  "endpoint-dial": { type: "string", multiple: true },
  "app-host": { type: "string" },
  "detect-timeout-ms": { type: "string" },
  "peer-transport": { type: "string" },
  "tap-identity": { type: "string" },
} as const satisfies ParseArgsOptionsConfig;

/** Every flag the proxy takes, for the usage text's test. */
export const PROXY_FLAGS: readonly string[] = Object.keys(FLAGS);

function parseFlagsOrThrow(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false }).values;
}

type Flags = ReturnType<typeof parseFlagsOrThrow>;
type FlagName = keyof typeof FLAGS;

/** A setting's value and where it came from (a flag or an environment variable), for error messages. */
interface Setting {
  value: string;
  from: string;
}
type Read = (flag: FlagName, envName?: string) => Setting | undefined;

function parseFlags(argv: readonly string[]): Result<Flags> {
  try {
    return ok(parseFlagsOrThrow(argv));
  } catch (err) {
    // node:util reports unknown flags, missing values and stray arguments by throwing.
    return fail("bad-flag", (err as Error).message.split("\n")[0] ?? String(err));
  }
}

/** 0 is a port here: it disables a listener. Digits only, as in lib/port-list.ts. */
function port(value: string, name: string): Result<number> {
  const n = /^[0-9]{1,5}$/.test(value) ? Number(value) : NaN;
  return n >= 0 && n <= 65535 ? ok(n) : fail("bad-port", `${name}: "${value}" is not a port (0-65535)`);
}

function hostPort(value: string, name: string): Result<{ host: string; port: number }> {
  const i = value.lastIndexOf(":");
  if (i <= 0) return fail("bad-address", `${name}: "${value}" is not host:port`);
  const p = port(value.slice(i + 1), name);
  if (!p.ok) return p;
  return ok({ host: value.slice(0, i).replace(/^\[|\]$/g, ""), port: p.value });
}

/** WEFT_OPAQUE_PORTS / --opaque-ports: the shared port-list grammar (lib/port-list.ts), as a set for lookups per connection. */
export function parseOpaquePorts(value: string): Result<Set<number>> {
  const ranges = parsePortList(value);
  return ranges.ok ? ok(new Set(portsOf(ranges.value))) : ranges;
}

function localMode(flags: Flags): Result<Pick<ProxyConfig, "outboundBinds" | "inboundApps" | "endpointDial">> {
  const outboundBinds: ProxyConfig["outboundBinds"] = [];
  for (const spec of flags["outbound-bind"] ?? []) {
    const [l = "", target = ""] = spec.split("=");
    const lp = port(l, "--outbound-bind");
    if (!lp.ok) return lp;
    const t = hostPort(target, "--outbound-bind");
    if (!t.ok) return t;
    outboundBinds.push({ listenPort: lp.value, address: t.value.host, port: t.value.port });
  }
  const inboundApps: ProxyConfig["inboundApps"] = [];
  for (const spec of flags["inbound-app"] ?? []) {
    const [l = "", a = ""] = spec.split("=");
    const lp = port(l, "--inbound-app");
    if (!lp.ok) return lp;
    const ap = port(a, "--inbound-app");
    if (!ap.ok) return ap;
    inboundApps.push({ listenPort: lp.value, appPort: ap.value });
  }
  const endpointDial = new Map<string, { host: string; port: number }>();
  for (const spec of flags["endpoint-dial"] ?? []) {
    const [from = "", to = ""] = spec.split("=");
    const f = hostPort(from, "--endpoint-dial");
    if (!f.ok) return f;
    const t = hostPort(to, "--endpoint-dial");
    if (!t.ok) return t;
    endpointDial.set(`${f.value.host}:${f.value.port}`, t.value);
  }
  return ok({ outboundBinds, inboundApps, endpointDial });
}

/** Static mode wins when both are given (the environment may name a control plane a local run does not use). */
function mode(read: Read, env: Env): Result<ProxyConfig["mode"]> {
  const snapshotFile = read("static-snapshot")?.value;
  const trustAnchorsFile = read("trust-anchors", PROXY_ENV.trustAnchorsFile)?.value;
  if (snapshotFile !== undefined) {
    const certFile = read("cert")?.value;
    const keyFile = read("key")?.value;
    if (!certFile || !keyFile || !trustAnchorsFile) return fail("bad-config", "--static-snapshot needs --cert, --key and --trust-anchors");
    return ok({ kind: "static", snapshotFile, certFile, keyFile, trustAnchorsFile });
  }
  const address = read("control-plane", PROXY_ENV.controlPlaneAddress);
  if (address === undefined) return fail("bad-config", "either --static-snapshot or --control-plane is required");
  const checked = hostPort(address.value, address.from);
  if (!checked.ok) return checked;
  const discoveryAddress = nonEmpty(env[PROXY_ENV.discoveryAddress]) ?? address.value;
  const discovery = hostPort(discoveryAddress, PROXY_ENV.discoveryAddress);
  if (!discovery.ok) return discovery;
  const identityTokenFile = read("identity-token-file", PROXY_ENV.identityTokenFile)?.value;
  if (!identityTokenFile) return fail("bad-config", `control-plane mode needs --identity-token-file (or ${PROXY_ENV.identityTokenFile})`);
  // The injector's inline bundle wins over a file: it is what the chart currently trusts.
  const pem = nonEmpty(env[PROXY_ENV_INJECTOR.trustAnchorsPem]);
  const trustAnchors = pem !== undefined ? { pem } : trustAnchorsFile ? { file: trustAnchorsFile } : undefined;
  if (!trustAnchors) return fail("bad-config", `control-plane mode needs trust anchors (--trust-anchors, ${PROXY_ENV.trustAnchorsFile} or ${PROXY_ENV_INJECTOR.trustAnchorsPem})`);
  const namespace = nonEmpty(env[PROXY_ENV.podNamespace]);
  const serviceAccount = nonEmpty(env[PROXY_ENV.serviceAccount]);
  if (namespace === undefined || serviceAccount === undefined) {
    return fail("bad-config", `control-plane mode needs ${PROXY_ENV.podNamespace} and ${PROXY_ENV.serviceAccount}: the identity its token proves`);
  }
  const identity = validateIdentity({ trustDomain: read("trust-domain", PROXY_ENV.trustDomain)?.value ?? DEFAULT_TRUST_DOMAIN, namespace, serviceAccount });
  if (!identity.ok) return fail("bad-config", `this proxy's identity: ${identity.message}`);
  return ok({
    kind: "control-plane",
    address: address.value,
    discoveryAddress,
    serverIdentity: read("control-plane-identity")?.value,
    identityTokenFile,
    trustAnchors,
    identity: identity.value,
    nodeName: nonEmpty(env[PROXY_ENV.nodeName]) ?? "",
  });
}

/** The downward API writes "" for a field the pod lacks (a zone label, say): read it as unset. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === "" ? undefined : value;
}

function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/**
 * The proxy's whole configuration from its command line and environment, or
 * the first thing wrong with it. The only reader of the environment below main.ts.
 */
export function loadConfig(argv: readonly string[], env: Env): Result<ProxyConfig> {
  const parsed = parseFlags(argv);
  if (!parsed.ok) return parsed;
  const flags = parsed.value;
  const read: Read = (flag, envName) => {
    const value = flags[flag];
    if (typeof value === "string") return { value, from: `--${flag}` };
    if (envName === undefined) return undefined;
    const fromEnv = nonEmpty(env[envName]);
    return fromEnv === undefined ? undefined : { value: fromEnv, from: envName };
  };

  const m = mode(read, env);
  if (!m.ok) return m;
  const ports = { inbound: 0, outbound: 0, admin: 0 };
  for (const [which, envName] of [
    ["inbound", PROXY_ENV.inboundPort],
    ["outbound", PROXY_ENV.outboundPort],
    ["admin", PROXY_ENV.adminPort],
  ] as const) {
    const given = read(`${which}-port`, envName);
    if (given === undefined) {
      ports[which] = DEFAULT_PROXY_PORTS[which];
      continue;
    }
    const p = port(given.value, given.from);
    if (!p.ok) return p;
    ports[which] = p.value;
  }
  const opaqueList = read("opaque-ports", PROXY_ENV.opaquePorts);
  const opaque = parseOpaquePorts(opaqueList?.value ?? "");
  if (!opaque.ok) return fail(opaque.code, `${opaqueList?.from ?? "--opaque-ports"}: ${opaque.message}`);
  const local = localMode(flags);
  if (!local.ok) return local;
  let appProbes: AppProbes = {};
  const probesJson = nonEmpty(env[PROXY_ENV_INJECTOR.appProbes]);
  if (probesJson !== undefined) {
    const probes = parseAppProbes(probesJson, PROXY_ENV_INJECTOR.appProbes);
    if (!probes.ok) return probes;
    appProbes = probes.value;
  }
  const logLevel = read("log-level", PROXY_ENV.logLevel) ?? { value: "info", from: "--log-level" };
  if (!isLogLevel(logLevel.value)) return fail("bad-flag", `${logLevel.from}: "${logLevel.value}" is not one of ${LOG_LEVELS.join(", ")}`);
  const detect = read("detect-timeout-ms")?.value ?? "300";
  if (!/^[0-9]{1,9}$/.test(detect) || Number(detect) <= 0) return fail("bad-flag", `--detect-timeout-ms: "${detect}" is not a positive number of milliseconds`);
  const transport = read("peer-transport")?.value ?? "h1";
  if (transport !== "h2" && transport !== "h1") return fail("bad-flag", `--peer-transport: "${transport}" is not h2 or h1`);

  const tapIdentity = read("tap-identity", PROXY_ENV.tapIdentity);
  if (tapIdentity !== undefined && !/^spiffe:\/\/[^/]+\/.+/.test(tapIdentity.value)) return fail("bad-flag", `${tapIdentity.from}: "${tapIdentity.value}" is not a SPIFFE id`);

  return ok({
    mode: m.value,
    workload: read("workload", PROXY_ENV.podName)?.value ?? "weft-proxy",
    inboundPort: ports.inbound,
    outboundPort: ports.outbound,
    adminPort: ports.admin,
    listenHost: read("listen-host")?.value ?? "0.0.0.0",
    zone: read("zone", PROXY_ENV.zone)?.value ?? "",
    opaquePorts: opaque.value,
    logLevel: logLevel.value,
    ...local.value,
    appHost: read("app-host")?.value ?? "127.0.0.1",
    detectTimeoutMs: Number(detect),
    appProbes,
    peerTransport: transport,
    tapIdentities: tapIdentity === undefined ? [] : [tapIdentity.value],
  });
}
