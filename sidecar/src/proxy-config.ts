// The proxy's configuration: one typed object, parsed and validated once from
// flags (which win) and the environment the injector sets.
import { DEFAULT_PROXY_PORTS, PROXY_ENV, PROXY_ENV_INJECTOR } from "../../lib/proxy-contract.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { parsePortList, portsOf } from "../../lib/port-list.ts";
import type { AppProbe } from "./admin/app-probe.ts";

export interface ProxyConfig {
  staticSnapshot?: string;
  cert?: string;
  key?: string;
  trustAnchors?: string;
  controlPlane?: string;
  controlPlaneIdentity?: string;
  identityTokenFile?: string;
  trustDomain?: string;
  workload: string;
  inboundPort: number;
  outboundPort: number;
  adminPort: number;
  listenHost: string;
  zone: string;
  opaquePorts: Set<number>;
  logLevel: string;
  outboundBinds: { listenPort: number; address: string; port: number }[];
  inboundApps: { listenPort: number; appPort: number }[];
  endpointDial: Map<string, { host: string; port: number }>;
  appHost: string;
  detectTimeoutMs: number;
  appProbes: Record<string, AppProbe>;
  peerTransport: "h2" | "h1";
}

export const USAGE = `weft-proxy: the Weft sidecar proxy

Static mode (no control plane):
  --static-snapshot <file.json>   full discovery Snapshot as JSON
  --cert <chain.pem> --key <key.pem> --trust-anchors <anchors.pem>
Control-plane mode:
  --control-plane <host:port>     discovery and identity service
  --identity-token-file <path>    projected ServiceAccount token
  --trust-anchors <anchors.pem>   (or WEFT_TRUST_ANCHORS_PEM)
Ports and behaviour:
  --inbound-port N --outbound-port N --admin-port N   (defaults 4143/4140/4191; 0 disables)
  --listen-host <ip>              address for the inbound and admin listeners (default 0.0.0.0)
  --zone <zone>                   for zone-aware balancing
  --opaque-ports <list>           e.g. 25,3306,8000-8010: no protocol detection
  --peer-transport h1|h2          HTTP/1.1 requests to peer proxies: pooled HTTP/1.1 (default) or
                                  HTTP/2 streams (for peers older than weft.h1/1)
  --log-level <level>
  --detect-timeout-ms N           give up detecting after N ms (default 300)
Local mode (no iptables):
  --outbound-bind <listenPort>=<ip:port>     repeatable: a listener whose destination is fixed
  --inbound-app <listenPort>=<appPort>       repeatable: an inbound listener for one app port
  --endpoint-dial <ip:port>=<host:port>      repeatable: dial this endpoint's proxy elsewhere
`;

function port(value: string, name: string): Result<number> {
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? ok(n) : fail("bad-port", `${name}: "${value}" is not a port`);
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

export function parseArgs(argv: readonly string[]): Result<Map<string, string[]>> {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!arg.startsWith("--")) return fail("bad-flag", `unexpected argument "${arg}"`);
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) return fail("bad-flag", `--${name} needs a value`);
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return ok(flags);
}

export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Result<ProxyConfig> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) return parsed;
  const flags = parsed.value;
  const known = new Set(["static-snapshot", "cert", "key", "trust-anchors", "control-plane", "control-plane-identity", "identity-token-file", "trust-domain", "workload", "inbound-port", "outbound-port", "admin-port", "listen-host", "zone", "opaque-ports", "log-level", "outbound-bind", "inbound-app", "endpoint-dial", "app-host", "detect-timeout-ms", "peer-transport"]);
  for (const name of flags.keys()) if (!known.has(name)) return fail("bad-flag", `unknown flag --${name}`);
  const one = (name: string, envName?: string): string | undefined => flags.get(name)?.at(-1) ?? (envName ? env[envName] : undefined) ?? undefined;

  const ports: Record<string, number> = {};
  for (const [name, envName, def] of [
    ["inbound-port", PROXY_ENV.inboundPort, DEFAULT_PROXY_PORTS.inbound],
    ["outbound-port", PROXY_ENV.outboundPort, DEFAULT_PROXY_PORTS.outbound],
    ["admin-port", PROXY_ENV.adminPort, DEFAULT_PROXY_PORTS.admin],
  ] as const) {
    const p = port(one(name, envName) ?? String(def), `--${name}`);
    if (!p.ok) return p;
    ports[name] = p.value;
  }
  const opaque = parseOpaquePorts(one("opaque-ports", PROXY_ENV.opaquePorts) ?? "");
  if (!opaque.ok) return opaque;

  const outboundBinds: ProxyConfig["outboundBinds"] = [];
  for (const spec of flags.get("outbound-bind") ?? []) {
    const [l = "", target = ""] = spec.split("=");
    const lp = port(l, "--outbound-bind");
    const t = hostPort(target, "--outbound-bind");
    if (!lp.ok) return lp;
    if (!t.ok) return t;
    outboundBinds.push({ listenPort: lp.value, address: t.value.host, port: t.value.port });
  }
  const inboundApps: ProxyConfig["inboundApps"] = [];
  for (const spec of flags.get("inbound-app") ?? []) {
    const [l = "", a = ""] = spec.split("=");
    const lp = port(l, "--inbound-app");
    const ap = port(a, "--inbound-app");
    if (!lp.ok) return lp;
    if (!ap.ok) return ap;
    inboundApps.push({ listenPort: lp.value, appPort: ap.value });
  }
  const endpointDial = new Map<string, { host: string; port: number }>();
  for (const spec of flags.get("endpoint-dial") ?? []) {
    const [from = "", to = ""] = spec.split("=");
    const f = hostPort(from, "--endpoint-dial");
    const t = hostPort(to, "--endpoint-dial");
    if (!f.ok) return f;
    if (!t.ok) return t;
    endpointDial.set(`${f.value.host}:${f.value.port}`, t.value);
  }
  let appProbes: Record<string, AppProbe> = {};
  const probesJson = env[PROXY_ENV_INJECTOR.appProbes];
  if (probesJson) {
    try {
      appProbes = JSON.parse(probesJson) as Record<string, AppProbe>;
    } catch {
      return fail("bad-env", `${PROXY_ENV_INJECTOR.appProbes} is not JSON`);
    }
  }
  const detect = Number(one("detect-timeout-ms") ?? "300");
  if (!Number.isFinite(detect) || detect <= 0) return fail("bad-flag", "--detect-timeout-ms must be positive");

  const transport = one("peer-transport") ?? "h1";
  if (transport !== "h2" && transport !== "h1") return fail("bad-flag", "--peer-transport must be h2 or h1");

  const config: ProxyConfig = {
    staticSnapshot: one("static-snapshot"),
    cert: one("cert"),
    key: one("key"),
    trustAnchors: one("trust-anchors", PROXY_ENV.trustAnchorsFile),
    controlPlane: one("control-plane", PROXY_ENV.controlPlaneAddress),
    controlPlaneIdentity: one("control-plane-identity"),
    identityTokenFile: one("identity-token-file", PROXY_ENV.identityTokenFile),
    trustDomain: one("trust-domain", PROXY_ENV.trustDomain),
    workload: one("workload", PROXY_ENV.podName) ?? "weft-proxy",
    inboundPort: ports["inbound-port"] ?? DEFAULT_PROXY_PORTS.inbound,
    outboundPort: ports["outbound-port"] ?? DEFAULT_PROXY_PORTS.outbound,
    adminPort: ports["admin-port"] ?? DEFAULT_PROXY_PORTS.admin,
    listenHost: one("listen-host") ?? "0.0.0.0",
    zone: one("zone", PROXY_ENV.zone) ?? "",
    opaquePorts: opaque.value,
    logLevel: one("log-level", PROXY_ENV.logLevel) ?? "info",
    outboundBinds,
    inboundApps,
    endpointDial,
    appHost: one("app-host") ?? "127.0.0.1",
    detectTimeoutMs: detect,
    appProbes,
    peerTransport: transport,
  };
  if (!config.staticSnapshot && !config.controlPlane) return fail("bad-config", "either --static-snapshot or --control-plane is required");
  if (config.staticSnapshot && (!config.cert || !config.key || !config.trustAnchors)) return fail("bad-config", "--static-snapshot needs --cert, --key and --trust-anchors");
  return ok(config);
}
