// Runs a real Jaeger v2 (all-in-one: OTLP receivers, in-memory storage, query
// API) on free loopback ports for a test, and reads traces back from it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accepting, freePorts } from "../support/ports.ts";
import { startProcess } from "../support/process.ts";
import { StopWaiting, waitFor } from "../support/wait.ts";
import { jaegerBinaryPath, jaegerBinaryReady } from "./jaeger-paths.ts";

export interface JaegerTag {
  key: string;
  type: string;
  value: string | number | boolean;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: JaegerTag[];
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: JaegerTag[] }>;
}

export interface Jaeger {
  /** host:port style URL for OTLP/gRPC, e.g. http://127.0.0.1:40123 */
  otlpGrpcEndpoint: string;
  /** Base URL for OTLP/HTTP (the exporter appends /v1/traces). */
  otlpHttpEndpoint: string;
  queryUrl: string;
  getServices(): Promise<string[]>;
  getTraces(service: string): Promise<JaegerTrace[]>;
  /** Undefined when Jaeger does not have the trace (yet). */
  getTrace(traceId: string): Promise<JaegerTrace | undefined>;
  /** Polls until `predicate` holds for the service's traces, or throws with what was last seen. */
  waitForTraces(service: string, predicate: (traces: JaegerTrace[]) => boolean, timeoutMs?: number): Promise<JaegerTrace[]>;
  /** Polls until the trace exists with at least `minSpans` spans. */
  waitForTrace(traceId: string, minSpans: number, timeoutMs?: number): Promise<JaegerTrace>;
  stop(): Promise<void>;
}

function configYaml(p: { grpc: number; http: number; queryHttp: number; queryGrpc: number }): string {
  return `
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${p.queryHttp}
    grpc:
      endpoint: 127.0.0.1:${p.queryGrpc}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${p.grpc}
      http:
        endpoint: 127.0.0.1:${p.http}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

// Config directories of instances still running when the test process exits
// (a crash, ctrl-C) are removed; test/support/process.ts kills the processes.
const tempDirs = new Set<string>();
process.on("exit", () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text for the error message
  }
  return { status: res.status, body };
}

async function startOnce(): Promise<Jaeger> {
  const [grpc, http, queryHttp, queryGrpc] = (await freePorts(4)) as [number, number, number, number];
  const ports = { grpc, http, queryHttp, queryGrpc };
  const dir = mkdtempSync(join(tmpdir(), "weft-jaeger-"));
  tempDirs.add(dir);
  const configPath = join(dir, "config.yaml");
  writeFileSync(configPath, configYaml(ports));

  const jaeger = startProcess("jaeger", jaegerBinaryPath(), ["--config", configPath], { keepChars: 8000 });

  const queryUrl = `http://127.0.0.1:${ports.queryHttp}`;
  const stop = async (): Promise<void> => {
    await jaeger.stop(5000);
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  };

  // Ready when the query API answers, the OTLP/HTTP receiver accepts a POST and the OTLP/gRPC
  // receiver (what the proxies export to) accepts connections: Jaeger opens its listeners one by one,
  // and an export that finds the gRPC port closed is dropped, not retried (in one full run the first
  // test's trace never arrived).
  try {
    await waitFor("jaeger's query API and OTLP receivers to answer", async () => {
      if (!jaeger.running) throw new StopWaiting(`jaeger exited during start-up (${jaeger.state}):\n${jaeger.output}`);
      const services = await getJson(`${queryUrl}/api/services`);
      const otlp = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ resourceSpans: [] }),
        signal: AbortSignal.timeout(5000),
      });
      return services.status === 200 && otlp.status === 200 && (await accepting(ports.grpc));
    }, { timeoutMs: 30_000, intervalMs: 100 });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\njaeger's output:\n${jaeger.output}`, { cause: err });
  }

  const getTraces = async (service: string): Promise<JaegerTrace[]> => {
    const r = await getJson(`${queryUrl}/api/traces?service=${encodeURIComponent(service)}&limit=1000&lookback=1h`);
    if (r.status === 404) return [];
    if (r.status !== 200) throw new Error(`jaeger /api/traces: ${r.status} ${JSON.stringify(r.body)}`);
    return ((r.body as { data?: JaegerTrace[] }).data ?? []);
  };
  const getTrace = async (traceId: string): Promise<JaegerTrace | undefined> => {
    const r = await getJson(`${queryUrl}/api/traces/${traceId}`);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`jaeger /api/traces/${traceId}: ${r.status} ${JSON.stringify(r.body)}`);
    return (r.body as { data?: JaegerTrace[] }).data?.[0];
  };

  return {
    otlpGrpcEndpoint: `http://127.0.0.1:${ports.grpc}`,
    otlpHttpEndpoint: `http://127.0.0.1:${ports.http}`,
    queryUrl,
    async getServices() {
      const r = await getJson(`${queryUrl}/api/services`);
      return ((r.body as { data?: string[] | null }).data ?? []);
    },
    getTraces,
    getTrace,
    async waitForTraces(service, predicate, timeoutMs = 20_000) {
      let last: JaegerTrace[] = [];
      try {
        return await waitFor(`the traces of ${service} to match`, async () => {
          last = await getTraces(service);
          return predicate(last) && last;
        }, { timeoutMs, intervalMs: 200 });
      } catch (err) {
        throw new Error(`${(err as Error).message}; last saw ${last.length} traces with ${last.map((t) => t.spans.length).join(",")} spans`, { cause: err });
      }
    },
    async waitForTrace(traceId, minSpans, timeoutMs = 20_000) {
      let spans = 0;
      try {
        return await waitFor(`trace ${traceId} to reach ${minSpans} spans`, async () => {
          const t = await getTrace(traceId);
          spans = t?.spans.length ?? 0;
          return t !== undefined && spans >= minSpans && t;
        }, { timeoutMs, intervalMs: 200 });
      } catch (err) {
        throw new Error(`${(err as Error).message} (has ${spans})`, { cause: err });
      }
    },
    stop,
  };
}

/** Starts Jaeger; retries once when a free port was taken between picking and binding. */
export async function startJaeger(): Promise<Jaeger> {
  if (!jaegerBinaryReady()) {
    throw new Error(`Jaeger is not built at ${jaegerBinaryPath()}: run test/tracing/build-jaeger.sh (npm test does it in its set-up)`);
  }
  try {
    return await startOnce();
  } catch (err) {
    if (!String(err).includes("address already in use")) throw err;
    return startOnce();
  }
}

/** A tag's value on a span, or undefined. */
export function tag(span: JaegerSpan, key: string): JaegerTag["value"] | undefined {
  return span.tags.find((t) => t.key === key)?.value;
}

/** The span's parent span id (CHILD_OF reference), if any. */
export function parentOf(span: JaegerSpan): string | undefined {
  return span.references.find((r) => r.refType === "CHILD_OF")?.spanID;
}
