// The injector's configuration: one typed object, validated once where it enters
// (the file the Helm chart writes from its values), then passed down. Every
// field has a default so a partial file is enough; an invalid file is refused
// as a whole so a typo cannot half-apply. The file format is docs/injection.md.
import { createHash } from "node:crypto";
import { parse as parseYaml } from "yaml";
import { DEFAULT_PROXY_PORTS, DEFAULT_PROXY_UID } from "../../lib/proxy-contract.ts";
import { DEFAULT_TRUST_DOMAIN } from "../../lib/spiffe.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { parseTracingConfig, PROPAGATION_FORMATS, TRACING_DEFAULTS, type OtlpProtocol, type PropagationFormat } from "../../lib/tracing-config.ts";
import { parsePortList } from "../../lib/port-list.ts";
import { isQuantity, quantityValue } from "./quantity.ts";

export { isQuantity };

export interface ResourceSpec {
  requests: { cpu?: string; memory?: string };
  limits: { cpu?: string; memory?: string };
}

export type PullPolicy = "Always" | "IfNotPresent" | "Never";
export type FailurePolicy = "Ignore" | "Fail";
/** `auto`: native sidecar when the apiserver is 1.29 or newer (decided by main.ts at start). */
export type NativeSidecarMode = "auto" | "on" | "off";

/** What every injected proxy is told about tracing (lib/tracing-config.ts validates the same keys). */
export interface InjectorTracing {
  /** OTLP collector as the operator wrote it (host:port or URL); the proxy normalizes it. */
  endpoint: string;
  protocol: OtlpProtocol;
  samplingRatio: number;
  propagation: PropagationFormat[];
  maxQueueSize: number;
}

/**
 * CNI mode (docs/install.md, "CNI mode"): the weft-cni plugin writes the
 * capture rules, so the injector adds this unprivileged validation init
 * container instead of the privileged weft-proxy-init.
 */
export interface InjectorCni {
  image: string;
  imagePullPolicy: PullPolicy;
  /** Command that runs weft-validate; the injector appends the flags. */
  command: string[];
  /** host:port outside the pod, with a route, that the validator dials to prove redirection. */
  validationTarget: string;
  timeoutMs: number;
  resources: ResourceSpec;
}

export const CNI_DEFAULTS: InjectorCni = {
  image: "ghcr.io/weft-mesh/weft-proxy:0.1.0",
  imagePullPolicy: "IfNotPresent",
  command: ["node", "/weft/dist/cni/src/validate-main.js"],
  validationTarget: "192.0.2.1:9",
  timeoutMs: 10_000,
  resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
};

const CNI_KEYS = ["enabled", ...Object.keys(CNI_DEFAULTS)] as const;

export interface InjectorConfig {
  /** Written into weft.io/injected-by with the config's hash. */
  version: string;
  proxy: {
    image: string;
    imagePullPolicy: PullPolicy;
    /** The proxy's command (the image's entrypoint when empty) and arguments. */
    command: string[];
    args: string[];
    ports: { outbound: number; inbound: number; admin: number };
    uid: number;
    resources: ResourceSpec;
    logLevel: string;
  };
  init: {
    image: string;
    imagePullPolicy: PullPolicy;
    /** Command prefix that runs weft-proxy-init; the injector appends the flags. */
    command: string[];
    resources: ResourceSpec;
  };
  controlPlane: {
    /** host:port of the identity service, as the proxy dials it. */
    address: string;
    /** host:port of the discovery service (a port of its own: it requires client certificates). */
    discoveryAddress: string;
    namespace: string;
    trustDomain: string;
    /** PEM of the trust anchors, given to the proxy inline (empty: not set). */
    trustAnchorsPem: string;
  };
  nativeSidecar: NativeSidecarMode;
  webhook: { failurePolicy: FailurePolicy; timeoutSeconds: number };
  /** Port lists ("25,3306,8000-8010"); pod annotations replace them. */
  opaquePorts: string;
  skipInboundPorts: string;
  skipOutboundPorts: string;
  /**
   * Absent when tracing is off (no endpoint). Absent rather than empty so a
   * configuration without tracing hashes as it did before tracing existed, and
   * pods injected from it are not reported as injected from another config.
   */
  tracing?: InjectorTracing;
  /** Absent unless CNI mode is on (absent, like tracing, so other configs hash as before). */
  cni?: InjectorCni;
}

export const DEFAULT_INJECTOR_CONFIG: InjectorConfig = {
  version: "0.1.0",
  proxy: {
    image: "ghcr.io/weft-mesh/weft:0.1.0",
    imagePullPolicy: "IfNotPresent",
    command: ["node", "/weft/dist/sidecar/src/main.js"],
    args: [],
    ports: { ...DEFAULT_PROXY_PORTS },
    uid: DEFAULT_PROXY_UID,
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
    logLevel: "info",
  },
  init: {
    image: "ghcr.io/weft-mesh/weft:0.1.0",
    imagePullPolicy: "IfNotPresent",
    command: ["node", "/weft/dist/sidecar/src/init-main.js"],
    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
  },
  controlPlane: {
    address: "weft-control-plane.weft-system.svc:8086",
    discoveryAddress: "weft-control-plane.weft-system.svc:8087",
    namespace: "weft-system",
    trustDomain: DEFAULT_TRUST_DOMAIN,
    trustAnchorsPem: "",
  },
  nativeSidecar: "auto",
  webhook: { failurePolicy: "Ignore", timeoutSeconds: 5 },
  opaquePorts: "25,587,3306,4444,5432,6379,9300,11211",
  skipInboundPorts: "",
  skipOutboundPorts: "",
};

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
const PULL_POLICIES: readonly string[] = ["Always", "IfNotPresent", "Never"];
const TRACING_KEYS = ["endpoint", "protocol", "samplingRatio", "propagation", "maxQueueSize"] as const;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// A small typed reader: each getter checks one field, and the first bad field
// becomes the error (with its dotted path) instead of an exception.
class Reader {
  error: string | undefined;
  check<T>(path: string, value: unknown, fallback: T, valid: (v: unknown) => v is T, expected: string): T {
    if (value === undefined) return fallback;
    if (!valid(value)) {
      this.error ??= `${path}: expected ${expected}, got ${JSON.stringify(value)}`;
      return fallback;
    }
    return value;
  }
  string(path: string, value: unknown, fallback: string, nonEmpty = false): string {
    return this.check(path, value, fallback, (v): v is string => typeof v === "string" && (!nonEmpty || v.length > 0), nonEmpty ? "a non-empty string" : "a string");
  }
  port(path: string, value: unknown, fallback: number): number {
    return this.check(path, value, fallback, (v): v is number => Number.isInteger(v) && (v as number) > 0 && (v as number) < 65536, "a port (1-65535)");
  }
  strings(path: string, value: unknown, fallback: string[]): string[] {
    return this.check(path, value, fallback, (v): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string"), "a list of strings");
  }
  /** A mapping with only the known keys: a misspelt key is an error, not a silent default. */
  object(path: string, value: unknown, keys?: readonly string[]): Json {
    const o = this.check(path, value, {}, isObject, "a mapping");
    const unknown = keys ? Object.keys(o).filter((k) => !keys.includes(k)) : [];
    if (unknown.length > 0) this.error ??= `${path ? `${path}: ` : ""}unknown key ${unknown.map((k) => JSON.stringify(k)).join(", ")}`;
    return o;
  }
  oneOf<T extends string>(path: string, value: unknown, fallback: T, allowed: readonly string[]): T {
    return this.check(path, value, fallback, (v): v is T => typeof v === "string" && allowed.includes(v), `one of ${allowed.join(", ")}`);
  }
  ports(path: string, value: unknown, fallback: string): string {
    const list = this.string(path, value, fallback);
    const parsed = parsePortList(list);
    if (!parsed.ok) this.error ??= `${path}: ${parsed.message}`;
    return list;
  }
  resources(path: string, value: unknown, fallback: ResourceSpec): ResourceSpec {
    if (value === undefined) return fallback;
    const raw = this.object(path, value, ["requests", "limits"]);
    const side = (name: "requests" | "limits") => {
      const o = this.object(`${path}.${name}`, raw[name], ["cpu", "memory"]);
      const out: { cpu?: string; memory?: string } = {};
      for (const key of ["cpu", "memory"] as const) {
        const q = o[key];
        if (q === undefined) continue;
        const v = typeof q === "number" ? String(q) : q;
        if (typeof v !== "string" || !isQuantity(v)) this.error ??= `${path}.${name}.${key}: expected a Kubernetes quantity, got ${JSON.stringify(q)}`;
        else out[key] = v;
      }
      return out;
    };
    const spec = { requests: side("requests"), limits: side("limits") };
    const over = requestOverLimit(spec);
    if (over) this.error ??= `${path}: ${over}`;
    return spec;
  }
}

/**
 * The `tracing` mapping. Every key is checked even when the endpoint is empty,
 * so a mistake is caught when it is written, not when tracing is turned on.
 * With an endpoint, the proxy's own parser must accept the result too: a value
 * it would refuse would crash every injected proxy at start.
 */
function readTracing(r: Reader, value: unknown): InjectorTracing | undefined {
  const t = r.object("tracing", value, TRACING_KEYS);
  const d = TRACING_DEFAULTS;
  const propagationRaw = typeof t.propagation === "string" ? t.propagation.split(",").map((s) => s.trim()).filter(Boolean) : t.propagation;
  const tracing: InjectorTracing = {
    endpoint: r.string("tracing.endpoint", t.endpoint, "").trim(),
    protocol: r.oneOf("tracing.protocol", t.protocol, d.protocol, ["grpc", "http"]),
    samplingRatio: r.check("tracing.samplingRatio", t.samplingRatio, d.samplingRatio, (v): v is number => typeof v === "number" && v >= 0 && v <= 1, "a number from 0 to 1"),
    propagation: r.check(
      "tracing.propagation",
      propagationRaw,
      [...d.propagation],
      (v): v is PropagationFormat[] => Array.isArray(v) && v.length > 0 && v.every((f) => PROPAGATION_FORMATS.includes(f as PropagationFormat)),
      `a non-empty list of ${PROPAGATION_FORMATS.join(", ")}`,
    ),
    maxQueueSize: r.check("tracing.maxQueueSize", t.maxQueueSize, d.maxQueueSize, (v): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1_000_000, "an integer from 1 to 1000000"),
  };
  if (tracing.endpoint === "") return undefined;
  const proxySees = parseTracingConfig({ ...tracing, propagation: tracing.propagation.join(",") });
  if (!proxySees.ok) r.error ??= `tracing: ${proxySees.message}`;
  return { ...tracing, propagation: [...new Set(tracing.propagation)] };
}

/** The `cni` mapping: undefined unless `enabled: true`; every key is checked either way. */
function readCni(r: Reader, value: unknown): InjectorCni | undefined {
  const c = r.object("cni", value, CNI_KEYS);
  const d = CNI_DEFAULTS;
  const enabled = r.check("cni.enabled", c.enabled, false, (v): v is boolean => typeof v === "boolean", "true or false");
  const cni: InjectorCni = {
    image: r.string("cni.image", c.image, d.image, true),
    imagePullPolicy: r.oneOf("cni.imagePullPolicy", c.imagePullPolicy, d.imagePullPolicy, PULL_POLICIES),
    command: r.strings("cni.command", c.command, d.command),
    validationTarget: r.check("cni.validationTarget", c.validationTarget, d.validationTarget, (v): v is string => typeof v === "string" && /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):\d{1,5}$/.test(v), "host:port"),
    timeoutMs: r.check("cni.timeoutMs", c.timeoutMs, d.timeoutMs, (v): v is number => Number.isInteger(v) && (v as number) >= 100 && (v as number) <= 120_000, "an integer from 100 to 120000"),
    resources: r.resources("cni.resources", c.resources, d.resources),
  };
  return enabled ? cni : undefined;
}

/** A reason when a request exceeds its limit (the apiserver would refuse the pod). */
export function requestOverLimit(spec: ResourceSpec): string | undefined {
  for (const key of ["cpu", "memory"] as const) {
    const req = spec.requests[key];
    const lim = spec.limits[key];
    if (req === undefined || lim === undefined) continue;
    if ((quantityValue(req) ?? 0) > (quantityValue(lim) ?? Infinity)) return `${key} request ${req} exceeds its limit ${lim}`;
  }
  return undefined;
}

/** Validates a decoded configuration document (partial: defaults fill the rest). */
export function validateInjectorConfig(doc: unknown): Result<InjectorConfig> {
  if (doc === null || doc === undefined) return ok(DEFAULT_INJECTOR_CONFIG);
  if (!isObject(doc)) return fail("bad-config", "configuration must be a mapping");
  const d = DEFAULT_INJECTOR_CONFIG;
  const r = new Reader();
  r.object("", doc, [...Object.keys(d), "tracing", "cni"]);
  const proxy = r.object("proxy", doc.proxy, Object.keys(d.proxy));
  const ports = r.object("proxy.ports", proxy.ports, Object.keys(d.proxy.ports));
  const init = r.object("init", doc.init, Object.keys(d.init));
  const cp = r.object("controlPlane", doc.controlPlane, Object.keys(d.controlPlane));
  const wh = r.object("webhook", doc.webhook, Object.keys(d.webhook));
  const config: InjectorConfig = {
    version: r.string("version", doc.version, d.version, true),
    proxy: {
      image: r.string("proxy.image", proxy.image, d.proxy.image, true),
      imagePullPolicy: r.oneOf("proxy.imagePullPolicy", proxy.imagePullPolicy, d.proxy.imagePullPolicy, PULL_POLICIES),
      command: r.strings("proxy.command", proxy.command, d.proxy.command),
      args: r.strings("proxy.args", proxy.args, d.proxy.args),
      ports: {
        outbound: r.port("proxy.ports.outbound", ports.outbound, d.proxy.ports.outbound),
        inbound: r.port("proxy.ports.inbound", ports.inbound, d.proxy.ports.inbound),
        admin: r.port("proxy.ports.admin", ports.admin, d.proxy.ports.admin),
      },
      uid: r.check("proxy.uid", proxy.uid, d.proxy.uid, (v): v is number => Number.isInteger(v) && (v as number) > 0, "a non-root UID"),
      resources: r.resources("proxy.resources", proxy.resources, d.proxy.resources),
      logLevel: r.oneOf("proxy.logLevel", proxy.logLevel, d.proxy.logLevel, LOG_LEVELS),
    },
    init: {
      image: r.string("init.image", init.image, d.init.image, true),
      imagePullPolicy: r.oneOf("init.imagePullPolicy", init.imagePullPolicy, d.init.imagePullPolicy, PULL_POLICIES),
      command: r.strings("init.command", init.command, d.init.command),
      resources: r.resources("init.resources", init.resources, d.init.resources),
    },
    controlPlane: {
      address: r.string("controlPlane.address", cp.address, d.controlPlane.address, true),
      discoveryAddress: r.string("controlPlane.discoveryAddress", cp.discoveryAddress, d.controlPlane.discoveryAddress, true),
      namespace: r.string("controlPlane.namespace", cp.namespace, d.controlPlane.namespace, true),
      trustDomain: r.string("controlPlane.trustDomain", cp.trustDomain, d.controlPlane.trustDomain, true),
      trustAnchorsPem: r.string("controlPlane.trustAnchorsPem", cp.trustAnchorsPem, d.controlPlane.trustAnchorsPem),
    },
    nativeSidecar: r.oneOf("nativeSidecar", doc.nativeSidecar, d.nativeSidecar, ["auto", "on", "off"]),
    webhook: {
      failurePolicy: r.oneOf("webhook.failurePolicy", wh.failurePolicy, d.webhook.failurePolicy, ["Ignore", "Fail"]),
      timeoutSeconds: r.check("webhook.timeoutSeconds", wh.timeoutSeconds, d.webhook.timeoutSeconds, (v): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 30, "an integer from 1 to 30"),
    },
    opaquePorts: r.ports("opaquePorts", doc.opaquePorts, d.opaquePorts),
    skipInboundPorts: r.ports("skipInboundPorts", doc.skipInboundPorts, d.skipInboundPorts),
    skipOutboundPorts: r.ports("skipOutboundPorts", doc.skipOutboundPorts, d.skipOutboundPorts),
  };
  const tracing = readTracing(r, doc.tracing);
  if (tracing) config.tracing = tracing;
  const cni = readCni(r, doc.cni);
  if (cni) config.cni = cni;
  if (r.error) return fail("bad-config", r.error);
  const p = config.proxy.ports;
  if (new Set([p.outbound, p.inbound, p.admin]).size !== 3) return fail("bad-config", "proxy.ports: outbound, inbound and admin must differ");
  return ok(config);
}

/** Parses the file's text (YAML, and so JSON too). */
export function parseInjectorConfig(text: string): Result<InjectorConfig> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    return fail("bad-config", `not YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  return validateInjectorConfig(doc);
}

/** A short, stable hash of the configuration, recorded on injected pods. */
export function configHash(config: InjectorConfig): string {
  let hash = hashes.get(config);
  if (hash === undefined) {
    hash = createHash("sha256").update(JSON.stringify(config)).digest("hex").slice(0, 12);
    hashes.set(config, hash);
  }
  return hash;
}

// A configuration is immutable once loaded; hash it once, not per admission.
const hashes = new WeakMap<InjectorConfig, string>();
