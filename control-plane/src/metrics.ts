// The control plane's one Prometheus registry, and the admin endpoint that
// serves it. Each service registers its own metrics on the registry through its
// create*Metrics(registry) factory; add new services here so /metrics shows them all.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Registry, collectDefaultMetrics } from "prom-client";
import { createIdentityMetrics, type IdentityMetrics } from "./identity-metrics.ts";

export interface ControlPlaneMetrics {
  registry: Registry;
  identity: IdentityMetrics;
}

export function createControlPlaneMetrics(options: { processMetrics?: boolean } = {}): ControlPlaneMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "weft_control_plane_" });
  return { registry, identity: createIdentityMetrics(registry) };
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

/**
 * The admin endpoint: /metrics (Prometheus text), /live (the process answers),
 * /ready (every check passes: the issuer is loaded, the servers listen, ...).
 */
export async function startAdminServer(options: {
  host: string;
  port: number;
  registry: Registry;
  ready: () => { ready: boolean; reasons: string[] };
}): Promise<AdminServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405).end();
    } else if (path === "/live") {
      res.writeHead(200, { "content-type": "text/plain" }).end("live\n");
    } else if (path === "/ready") {
      const r = options.ready();
      res.writeHead(r.ready ? 200 : 503, { "content-type": "text/plain" }).end(r.ready ? "ready\n" : `not ready: ${r.reasons.join("; ")}\n`);
    } else if (path === "/metrics") {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": options.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
