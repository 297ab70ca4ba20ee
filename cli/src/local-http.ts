// Small HTTP requests from the CLI to a sidecar's admin port or an app, over
// TCP on loopback or over a unix socket that local-netns-relay.ts serves from
// inside a network namespace. fetch() cannot dial a unix socket; http can.
import * as http from "node:http";

export type HttpTarget = { host: string; port: number } | { socketPath: string };

export interface HttpReply { status: number; body: string }

export function httpRequest(target: HttpTarget, path: string, options: { method?: string; timeoutMs?: number; agent?: http.Agent } = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const where = "socketPath" in target ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
    const req = http.request({ ...where, path, method: options.method ?? "GET", agent: options.agent, timeout: options.timeoutMs ?? 3_000, headers: { host: "weft.local" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}
