// A chain of small HTTP servers that trace like the proxy will: each extracts
// the caller's context, opens a server span, opens a client span for the call to
// the next hop (retrying once when asked to), injects the client span's context
// and closes both with the outcome. The last hop answers.
import { request, createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createTracing, parseTracingConfig, type Tracing } from "../../lib/tracing.ts";
import { endHttpSpan, extractContext, injectContext, startClientSpan, startServerSpan, type HeaderBag } from "../../sidecar/src/tracing/http.ts";

export interface HopSpec {
  service: string;
  namespace: string;
  pod: string;
  identity: string;
}

export interface Hop {
  spec: HopSpec;
  port: number;
  tracing: Tracing;
  /** Headers of the last request this hop received. */
  lastHeaders?: IncomingMessage["headers"];
}

export interface Chain {
  hops: Hop[];
  url: string;
  /** Makes the first attempt from hop `index` to the next one fail with a 503 (to see a retry span). */
  failFirstAttemptFrom(index: number): void;
  close(): Promise<void>;
}

interface Forwarded {
  status: number;
  body: Buffer;
}

function send(port: number, path: string, method: string, headers: HeaderBag, body: Buffer): Promise<Forwarded> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Tracing config for one hop, exporting to `endpoint` (undefined: tracing off). */
export function hopTracing(spec: HopSpec, raw: Record<string, unknown>): Promise<Tracing> {
  const parsed = parseTracingConfig({ ...raw, serviceName: spec.service, namespace: spec.namespace, podName: spec.pod });
  if (!parsed.ok) throw new Error(parsed.message);
  return createTracing(parsed.value, { scope: "weft-test-hop" });
}

export async function startChain(specs: HopSpec[], tracingRaw: Record<string, unknown>): Promise<Chain> {
  const hops: Hop[] = [];
  const servers: Server[] = [];
  const failFirst = new Set<number>();

  for (let i = specs.length - 1; i >= 0; i--) {
    const spec = specs[i] as HopSpec;
    const tracing = await hopTracing(spec, tracingRaw);
    const next = hops[0];
    const hop: Hop = { spec, port: 0, tracing };
    const index = i;
    const server = createServer((req, res) => {
      void (async () => {
        hop.lastHeaders = { ...req.headers };
        const path = (req.url ?? "/").split("?")[0] ?? "/";
        const method = req.method ?? "GET";
        const body = await readBody(req);
        const parent = extractContext(tracing.propagator, req.headers);
        const server = startServerSpan(tracing.tracer, parent, {
          method,
          path,
          route: "/chain",
          host: req.headers.host,
          peerAddress: req.socket.remoteAddress,
          peerPort: req.socket.remotePort,
          peerIdentity: index > 0 ? (specs[index - 1] as HopSpec).identity : undefined,
          protocolVersion: req.httpVersion,
          direction: "inbound",
          requestBytes: body.length,
        });
        let status = 200;
        let out: Buffer = Buffer.from(`hello from ${spec.service}\n`);
        if (next) {
          for (let attempt = 1; attempt <= 2; attempt++) {
            const client = startClientSpan(tracing.tracer, server.ctx, {
              method,
              path,
              route: "/chain",
              serverAddress: next.spec.service,
              serverPort: next.port,
              peerAddress: "127.0.0.1",
              peerPort: next.port,
              peerIdentity: next.spec.identity,
              attempt,
              direction: "outbound",
              requestBytes: body.length,
            });
            const headers: HeaderBag = { ...req.headers };
            delete headers["host"];
            injectContext(tracing.propagator, client.ctx, headers);
            if (attempt === 1 && failFirst.has(index)) {
              // A simulated 503 from the upstream: the span is closed as a failed attempt.
              endHttpSpan(client, { statusCode: 503, responseBytes: 0 });
              continue;
            }
            try {
              const r = await send(next.port, req.url ?? "/", method, headers, body);
              endHttpSpan(client, { statusCode: r.status, requestBytes: body.length, responseBytes: r.body.length });
              status = r.status;
              out = Buffer.concat([out, r.body]);
              break;
            } catch (err) {
              endHttpSpan(client, { error: "connect_error" });
              status = 502;
              out = Buffer.from(String(err));
            }
          }
        }
        res.writeHead(status, { "content-length": out.length });
        res.end(out);
        endHttpSpan(server, { statusCode: status, requestBytes: body.length, responseBytes: out.length });
      })().catch(() => {
        res.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    hop.port = (server.address() as AddressInfo).port;
    hops.unshift(hop);
    servers.push(server);
  }

  return {
    hops,
    url: `http://127.0.0.1:${hops[0]?.port ?? 0}/chain`,
    failFirstAttemptFrom: (i) => failFirst.add(i),
    async close() {
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      await Promise.all(hops.map((h) => h.tracing.shutdown()));
    },
  };
}

/** Sends a request to the chain's first hop with the given headers. */
export async function callChain(chain: Chain, headers: HeaderBag = {}, body = ""): Promise<Forwarded> {
  return send(chain.hops[0]?.port ?? 0, "/chain?x=1", body ? "POST" : "GET", headers, Buffer.from(body));
}

export async function flushAll(chain: Chain): Promise<void> {
  await Promise.all(chain.hops.map((h) => h.tracing.forceFlush()));
}
