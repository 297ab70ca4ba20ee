// The dashboard's HTTP shell: decodes a request, asks the data source, encodes JSON
// (or an event stream for the tap) and serves the built browser app. Nothing here
// computes a figure: that is the data source's, through the CLI's own functions.
import * as http from "node:http";
import express, { type Request, type Response } from "express";
import type { Logger } from "../../lib/log.ts";
import type { Result } from "../../lib/result.ts";
import type { DashboardConfig } from "./contract.ts";
import type { DashboardData } from "./data-source.ts";
import { namespacesParam, rangeParam, tapParam, targetParam, windowParam } from "./request-params.ts";

export interface DashboardServerOptions {
  data: DashboardData;
  /** The built browser app (index.html, app.js, app.css). */
  assetsDir: string;
  config: DashboardConfig;
  logger: Logger;
}

/** SSE comment sent this often on an idle tap, so proxies in between keep the stream open. */
const KEEPALIVE_MS = 15_000;

function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0]?.slice(0, 300) ?? "";
}

export function dashboardApp(options: DashboardServerOptions): express.Express {
  const { data, logger } = options;
  const app = express();
  app.disable("x-powered-by");

  /** A handler's answer: a 400 for bad parameters, a 502 with the reason when the cluster could not answer. */
  const answer = <T>(name: string, run: (req: Request) => Result<Promise<T>>) => async (req: Request, res: Response): Promise<void> => {
    const started = performance.now();
    let r: Result<Promise<T>>;
    try {
      r = run(req);
    } catch (err) {
      r = { ok: false, code: "bad-request", message: messageOf(err) };
    }
    if (!r.ok) {
      res.status(400).json({ error: r.message });
      return;
    }
    try {
      res.json(await r.value);
      logger.debug({ endpoint: name, ms: Math.round(performance.now() - started) }, "answered");
    } catch (err) {
      logger.warn({ endpoint: name, err: messageOf(err) }, "the cluster could not answer");
      res.status(502).json({ error: messageOf(err) });
    }
  };

  const param = (req: Request, key: string): string => {
    const v = req.params[key];
    return typeof v === "string" ? v : "";
  };
  const query = (req: Request): Record<string, unknown> => req.query as Record<string, unknown>;

  // The kubelet's probes: the process serves.
  app.get("/live", (_req, res) => void res.type("text/plain").send("ok\n"));
  app.get("/api/config", (_req, res) => void res.json(options.config));
  app.get("/api/graph", answer("graph", (req) => {
    const w = windowParam(query(req), options.config.window);
    if (!w.ok) return w;
    const ns = namespacesParam(query(req));
    if (!ns.ok) return ns;
    return { ok: true, value: data.graph(w.value, ns.value) };
  }));
  app.get("/api/stat/:namespace/:kind/:name", answer("stat", (req) => {
    const t = targetParam(param(req, "namespace"), param(req, "kind"), param(req, "name"));
    if (!t.ok) return t;
    const w = windowParam(query(req), options.config.window);
    if (!w.ok) return w;
    const r = rangeParam(query(req));
    if (!r.ok) return r;
    return { ok: true, value: data.stat(t.value, w.value, r.value.range, r.value.step) };
  }));
  app.get("/api/workload/:namespace/:kind/:name", answer("workload", (req) => {
    const t = targetParam(param(req, "namespace"), param(req, "kind"), param(req, "name"));
    if (!t.ok) return t;
    return { ok: true, value: data.workload(t.value.namespace ?? "", `${param(req, "kind")}/${t.value.name ?? ""}`) };
  }));
  app.get("/api/health", answer("health", () => ({ ok: true, value: data.health() })));

  app.get("/api/tap", (req, res) => {
    const q = tapParam(query(req));
    if (!q.ok) {
      res.status(400).json({ error: q.message });
      return;
    }
    const abort = new AbortController();
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    res.flushHeaders();
    const keepalive = setInterval(() => res.write(": keepalive\n\n"), KEEPALIVE_MS);
    const close = (): void => {
      clearInterval(keepalive);
      abort.abort();
    };
    req.on("close", close);
    data
      .tap(q.value, (event) => res.write(`data: ${JSON.stringify(event)}\n\n`), abort.signal)
      .then(() => res.write("event: end\ndata: {}\n\n"))
      .catch((err: unknown) => {
        logger.warn({ tap: q.value, err: messageOf(err) }, "tap failed");
        res.write(`event: failure\ndata: ${JSON.stringify({ error: messageOf(err) })}\n\n`);
      })
      .finally(() => {
        clearInterval(keepalive);
        res.end();
      });
  });

  app.use("/api", (_req, res) => void res.status(404).json({ error: "no such endpoint" }));
  app.use(express.static(options.assetsDir, { index: "index.html", maxAge: 0 }));
  return app;
}

/** Listens on host:port (port 0: any free one); resolves with the bound server. */
export async function startDashboardServer(options: DashboardServerOptions & { host: string; port: number }): Promise<http.Server> {
  const server = http.createServer(dashboardApp(options));
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(options.port, options.host, resolve));
  return server;
}
