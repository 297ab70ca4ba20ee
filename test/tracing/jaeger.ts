// Runs a real Jaeger v2 (all-in-one: OTLP receivers, in-memory storage, query
// API) on free loopback ports for a test, and reads traces back from it.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Children still running when the test process exits (a crash, ctrl-C) are
// killed and their config directories removed.
const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
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
  const ports = { grpc: await freePort(), http: await freePort(), queryHttp: await freePort(), queryGrpc: await freePort() };
  const dir = mkdtempSync(join(tmpdir(), "weft-jaeger-"));
  tempDirs.add(dir);
  const configPath = join(dir, "config.yaml");
  writeFileSync(configPath, configYaml(ports));

  const child = spawn(jaegerBinaryPath(), ["--config", configPath], { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once("exit", () => { exited = true; running.delete(child); resolve(); }));

  const queryUrl = `http://127.0.0.1:${ports.queryHttp}`;
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exitedPromise;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  };

  // Ready when the query API answers and the OTLP/HTTP receiver accepts a POST.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`jaeger exited during start-up:\n${output}`);
    }
    try {
      const services = await getJson(`${queryUrl}/api/services`);
      const otlp = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ resourceSpans: [] }),
        signal: AbortSignal.timeout(5000),
      });
      if (services.status === 200 && otlp.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`jaeger did not become ready within 30s:\n${output}`);
    }
    await sleep(100);
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
      const end = Date.now() + timeoutMs;
      let last: JaegerTrace[] = [];
      for (;;) {
        last = await getTraces(service);
        if (predicate(last)) return last;
        if (Date.now() > end) {
          throw new Error(`traces of ${service} did not match within ${timeoutMs}ms; last saw ${last.length} traces with ${last.map((t) => t.spans.length).join(",")} spans`);
        }
        await sleep(200);
      }
    },
    async waitForTrace(traceId, minSpans, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const t = await getTrace(traceId);
        if (t && t.spans.length >= minSpans) return t;
        if (Date.now() > end) throw new Error(`trace ${traceId} did not reach ${minSpans} spans within ${timeoutMs}ms (has ${t?.spans.length ?? 0})`);
        await sleep(200);
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
