// The tracing configuration of a Weft process (proxy or control plane): one
// typed object, validated once where it enters (flags, env, config file) and
// passed down. No endpoint means tracing is off and costs next to nothing.
import { fail, ok, type Result } from "./result.ts";

export type OtlpProtocol = "grpc" | "http";

/** Header formats the proxy writes on outbound requests (it always reads all of them). */
export type PropagationFormat = "tracecontext" | "b3" | "b3multi";
export const PROPAGATION_FORMATS: readonly PropagationFormat[] = ["tracecontext", "b3", "b3multi"];

// Incubating semantic conventions are copied, not imported, as the
// semantic-conventions package recommends for unstable names.
export const ATTR_K8S_NAMESPACE_NAME = "k8s.namespace.name";
export const ATTR_K8S_POD_NAME = "k8s.pod.name";

export interface TracingResource {
  /** service.name: the workload's service (for a proxy, the app it fronts). */
  serviceName: string;
  /** k8s.namespace.name */
  namespace?: string;
  /** k8s.pod.name */
  podName?: string;
  /** Extra resource attributes (e.g. k8s.node.name, service.version). */
  attributes?: Record<string, string>;
}

export interface TracingExportConfig {
  /** OTLP endpoint URL: grpc "http://host:4317", http "http://host:4318" (the /v1/traces path is added). */
  endpoint: string;
  protocol: OtlpProtocol;
  /** Finished spans waiting for export, at most; beyond it spans are dropped and counted. */
  maxQueueSize: number;
  maxExportBatchSize: number;
  /** How long a partial batch waits before it is sent. */
  scheduledDelayMillis: number;
  /** Per export request; a slow backend fails the batch after this long. */
  exportTimeoutMillis: number;
}

export interface TracingConfig {
  /** Undefined: tracing disabled (no-op tracer, headers are not touched). */
  export?: TracingExportConfig;
  /** Probability that a request arriving without trace context starts a sampled trace. */
  samplingRatio: number;
  /** Formats written on outbound requests. */
  propagation: PropagationFormat[];
  resource: TracingResource;
}

export const TRACING_DEFAULTS = {
  protocol: "grpc" as OtlpProtocol,
  samplingRatio: 0.01,
  propagation: ["tracecontext", "b3multi"] as PropagationFormat[],
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
  scheduledDelayMillis: 5000,
  exportTimeoutMillis: 10_000,
} as const;

export type TracingConfigError = "tracing.invalid";

type Raw = Record<string, unknown>;

function isRecord(v: unknown): v is Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function num(raw: Raw, key: string, dflt: number, min: number, max: number): Result<number, TracingConfigError> {
  const v = raw[key];
  if (v === undefined || v === "") return ok(dflt);
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < min || n > max) {
    return fail("tracing.invalid", `${key} must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return ok(n);
}

function str(raw: Raw, key: string): Result<string | undefined, TracingConfigError> {
  const v = raw[key];
  if (v === undefined || v === null || v === "") return ok(undefined);
  if (typeof v !== "string") return fail("tracing.invalid", `${key} must be a string`);
  return ok(v);
}

function parseEndpoint(v: string, protocol: OtlpProtocol): Result<string, TracingConfigError> {
  // Accept a bare host:port too (what operators type for a collector address).
  const withScheme = /^[a-z]+:\/\//i.test(v) ? v : `http://${v}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return fail("tracing.invalid", `endpoint is not a URL or host:port: ${JSON.stringify(v)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return fail("tracing.invalid", `endpoint scheme must be http or https, got ${url.protocol}`);
  }
  if (protocol === "http" && (url.pathname === "/" || url.pathname === "")) url.pathname = "/v1/traces";
  if (protocol === "grpc") url.pathname = "";
  return ok(url.toString().replace(/\/$/, ""));
}

function parsePropagation(v: unknown): Result<PropagationFormat[], TracingConfigError> {
  if (v === undefined || v === "") return ok([...TRACING_DEFAULTS.propagation]);
  const list = typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : v;
  if (!Array.isArray(list)) return fail("tracing.invalid", "propagation must be a list or a comma-separated string");
  const out: PropagationFormat[] = [];
  for (const item of list) {
    const format = PROPAGATION_FORMATS.find((f) => f === item);
    if (!format) {
      return fail("tracing.invalid", `unknown propagation format ${JSON.stringify(item)} (known: ${PROPAGATION_FORMATS.join(", ")})`);
    }
    if (!out.includes(format)) out.push(format);
  }
  return ok(out);
}

/**
 * Validates a raw tracing configuration (from a config file, flags or the
 * environment, numbers may be strings). Keys: endpoint, protocol, samplingRatio,
 * propagation, maxQueueSize, maxExportBatchSize, scheduledDelayMillis,
 * exportTimeoutMillis, serviceName, namespace, podName, resourceAttributes.
 */
export function parseTracingConfig(raw: unknown): Result<TracingConfig, TracingConfigError> {
  if (raw === undefined || raw === null) raw = {};
  if (!isRecord(raw)) return fail("tracing.invalid", "tracing configuration must be an object");

  const serviceName = str(raw, "serviceName");
  if (!serviceName.ok) return serviceName;
  const namespace = str(raw, "namespace");
  if (!namespace.ok) return namespace;
  const podName = str(raw, "podName");
  if (!podName.ok) return podName;
  const extra = raw["resourceAttributes"];
  if (extra !== undefined && (!isRecord(extra) || Object.values(extra).some((v) => typeof v !== "string"))) {
    return fail("tracing.invalid", "resourceAttributes must map names to strings");
  }
  const resource: TracingResource = { serviceName: serviceName.value ?? "unknown_service" };
  if (namespace.value) resource.namespace = namespace.value;
  if (podName.value) resource.podName = podName.value;
  if (extra) resource.attributes = extra as Record<string, string>;

  const samplingRatio = num(raw, "samplingRatio", TRACING_DEFAULTS.samplingRatio, 0, 1);
  if (!samplingRatio.ok) return samplingRatio;
  const propagation = parsePropagation(raw["propagation"]);
  if (!propagation.ok) return propagation;

  const config: TracingConfig = { samplingRatio: samplingRatio.value, propagation: propagation.value, resource };

  const endpointRaw = str(raw, "endpoint");
  if (!endpointRaw.ok) return endpointRaw;
  if (endpointRaw.value === undefined) return ok(config);

  const protocolGiven = raw["protocol"];
  const protocolRaw = protocolGiven === undefined || protocolGiven === "" ? TRACING_DEFAULTS.protocol : protocolGiven;
  if (protocolRaw !== "grpc" && protocolRaw !== "http") {
    return fail("tracing.invalid", `protocol must be "grpc" or "http", got ${JSON.stringify(protocolRaw)}`);
  }
  const endpoint = parseEndpoint(endpointRaw.value, protocolRaw);
  if (!endpoint.ok) return endpoint;
  const maxQueueSize = num(raw, "maxQueueSize", TRACING_DEFAULTS.maxQueueSize, 1, 1_000_000);
  if (!maxQueueSize.ok) return maxQueueSize;
  const maxExportBatchSize = num(raw, "maxExportBatchSize", Math.min(TRACING_DEFAULTS.maxExportBatchSize, maxQueueSize.value), 1, maxQueueSize.value);
  if (!maxExportBatchSize.ok) return maxExportBatchSize;
  const scheduledDelayMillis = num(raw, "scheduledDelayMillis", TRACING_DEFAULTS.scheduledDelayMillis, 1, 600_000);
  if (!scheduledDelayMillis.ok) return scheduledDelayMillis;
  const exportTimeoutMillis = num(raw, "exportTimeoutMillis", TRACING_DEFAULTS.exportTimeoutMillis, 1, 600_000);
  if (!exportTimeoutMillis.ok) return exportTimeoutMillis;

  config.export = {
    endpoint: endpoint.value,
    protocol: protocolRaw,
    maxQueueSize: Math.floor(maxQueueSize.value),
    maxExportBatchSize: Math.floor(maxExportBatchSize.value),
    scheduledDelayMillis: scheduledDelayMillis.value,
    exportTimeoutMillis: exportTimeoutMillis.value,
  };
  return ok(config);
}

/** Environment variables a Weft process reads its tracing configuration from. */
export const TRACING_ENV = {
  endpoint: "WEFT_TRACING_ENDPOINT",
  protocol: "WEFT_TRACING_PROTOCOL",
  samplingRatio: "WEFT_TRACING_SAMPLING_RATIO",
  propagation: "WEFT_TRACING_PROPAGATION",
  maxQueueSize: "WEFT_TRACING_MAX_QUEUE_SIZE",
  /** service.name of the spans; the proxy falls back to its service account's name. */
  serviceName: "WEFT_TRACING_SERVICE_NAME",
} as const;

/**
 * The raw configuration from an environment (passed in, never read globally);
 * feed the result to parseTracingConfig together with the resource identity.
 */
export function rawTracingConfigFromEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    endpoint: env[TRACING_ENV.endpoint],
    protocol: env[TRACING_ENV.protocol],
    samplingRatio: env[TRACING_ENV.samplingRatio],
    propagation: env[TRACING_ENV.propagation],
    maxQueueSize: env[TRACING_ENV.maxQueueSize],
    serviceName: env[TRACING_ENV.serviceName],
  };
}
