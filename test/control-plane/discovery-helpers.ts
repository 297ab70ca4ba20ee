// Small builders shared by the discovery tests: mesh models and endpoints
// without the noise of every field, a proxy's call without gRPC, and a logger
// whose lines a test can wait for.
import { EventEmitter } from "node:events";
import type * as grpc from "@grpc/grpc-js";
import { pino, type Logger } from "pino";
import { loadProto } from "../../api/load.ts";
import type { ProtoGrpcType } from "../../api/gen/discovery.ts";
import type { Endpoint } from "../../api/gen/weft/discovery/v1/Endpoint.ts";
import type { Snapshot__Output } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import type { ProxyCall } from "../../control-plane/src/discovery-connection.ts";
import type { MeshModel, NamespaceModel, ServiceModel } from "../../control-plane/src/mesh-state.ts";
import { emptyInbound, serviceKey } from "../../control-plane/src/mesh-state.ts";

export function endpoint(address: string, overrides: Partial<Endpoint> = {}): Endpoint {
  return { address, ports: { http: 8080 }, zone: "z1", node: "n1", pod: "", ready: true, serving: true, terminating: false, meshed: false, identity: "", ...overrides };
}

export function meshedEndpoint(address: string, ns: string, sa: string, overrides: Partial<Endpoint> = {}): Endpoint {
  return endpoint(address, { meshed: true, identity: `spiffe://cluster.local/ns/${ns}/sa/${sa}`, ...overrides });
}

export function service(namespace: string, name: string, endpoints: Endpoint[], overrides: Partial<ServiceModel> = {}): ServiceModel {
  return {
    namespace,
    name,
    clusterIps: ["10.96.0.10"],
    headless: false,
    ports: [{ name: "http", port: 80, protocol: "TCP", appProtocol: "http" }],
    endpoints,
    clientPolicy: null,
    ...overrides,
  };
}

export function namespace(name: string, meshEnabled: boolean, overrides: Partial<NamespaceModel> = {}): NamespaceModel {
  return { name, meshEnabled, inbound: emptyInbound(), ...overrides };
}

export function mesh(services: ServiceModel[], namespaces: NamespaceModel[] = []): MeshModel {
  return {
    services: new Map(services.map((s) => [serviceKey(s.namespace, s.name), s])),
    namespaces: new Map(namespaces.map((n) => [n.name, n])),
  };
}

const stream = loadProto<ProtoGrpcType>("discovery.proto").weft.discovery.v1.Discovery.service.Stream;

export function decodeSnapshot(bytes: Buffer): Snapshot__Output {
  return stream.responseDeserialize(bytes);
}

/**
 * A proxy's call without gRPC: it records what is written and the statuses the server ends it with,
 * and written bytes flush only when the test says so (as HTTP/2 flow control would once the proxy reads).
 */
export class FakeProxyCall extends EventEmitter implements ProxyCall {
  cancelled = false;
  ended = false;
  readonly written: Buffer[] = [];
  readonly statuses: Partial<grpc.StatusObject>[] = [];
  #unflushed: (() => void)[] = [];

  write(chunk: Buffer, flushed?: (error?: Error | null) => void): boolean {
    this.written.push(chunk);
    if (flushed) this.#unflushed.push(() => flushed());
    return true;
  }

  /** Flushes every write so far. */
  flush(): void {
    for (const flushed of this.#unflushed.splice(0)) flushed();
  }

  end(): void {
    this.ended = true;
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    // A real server call listens for its own "error" (that is how a handler sends a status), so it never throws.
    if (event === "error") {
      this.statuses.push(args[0] as Partial<grpc.StatusObject>);
      if (this.listenerCount("error") === 0) return false;
    }
    return super.emit(event, ...args);
  }
}

export interface LogLine {
  msg: string;
  level: number;
  [field: string]: unknown;
}

/** A logger that keeps its lines (at debug and above), and lets a test wait for one. */
export function recordingLogger(): { logger: Logger; lines: LogLine[]; waitFor(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine> } {
  const lines: LogLine[] = [];
  const waiters: (() => void)[] = [];
  const logger = pino({ level: "debug" }, {
    write(text: string) {
      lines.push(JSON.parse(text) as LogLine);
      for (const wake of waiters.splice(0)) wake();
    },
  });
  const waitFor = async (predicate: (line: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("log line not seen in time");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  return { logger, lines, waitFor };
}
