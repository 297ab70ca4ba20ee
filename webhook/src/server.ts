// The webhook's HTTP shell: decode the AdmissionReview, call the injector, encode
// the answer. Every outcome (including bad input) is logged and counted under a
// stable code; nothing a client sends can throw past the handler.
import express, { type NextFunction, type Request, type Response } from "express";
import { createServer as createHttpsServer, type Server } from "node:https";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../../lib/log.ts";
import { TLS_POLICY } from "../../lib/tls-policy.ts";
import { admissionReviewResponse, classifyReview, type OutcomeCode } from "./admission.ts";
import type { InjectorConfig } from "./injector-config.ts";
import { inject } from "./injector.ts";
import type { WebhookMetrics } from "./metrics.ts";
import type { NamespaceSource } from "./namespace-source.ts";

export const INJECT_PATH = "/inject";
/** Larger than any real pod (the apiserver caps objects at 1.5 MiB of etcd, most pods are a few KiB). */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * What one webhook holds for its clients. A per-request cap alone does not
 * bound memory: 500 connections each holding an unfinished 1 MiB body once
 * took a webhook to 1.4 GB. So the bytes of admission bodies in flight are
 * bounded in total, and a request that would go over is refused at once with
 * 503 (the apiserver then applies the webhook's failurePolicy, and retries).
 */
export interface WebhookLimits {
  /** Per request (default 1 MiB). */
  maxBodyBytes: number;
  /** Across all requests in flight (default 32 MiB); at least maxBodyBytes. */
  maxInflightBytes: number;
  /**
   * From a request's first byte to its last (default 30 s, the apiserver's
   * longest webhook timeout: an answer after that is read by nobody), so a
   * slowloris body cannot hold its share of the budget for ever.
   */
  requestTimeoutMs: number;
  /** For the TLS handshake and the request headers (default 10 s, capped at requestTimeoutMs). */
  headersTimeoutMs: number;
}

export const DEFAULT_WEBHOOK_LIMITS: WebhookLimits = {
  maxBodyBytes: MAX_BODY_BYTES,
  maxInflightBytes: 32 * 1024 * 1024,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
};

/**
 * Real pods are a few KiB. Bodies above this may use the budget only up to
 * its last eighth, so a flood of large bodies cannot keep out the ordinary
 * admissions it is meant to protect.
 */
const SMALL_BODY_BYTES = 64 * 1024;

/**
 * The in-flight byte budget. A request reserves its Content-Length (a chunked
 * one, whose size is unknown, reserves the per-request cap) before its body is
 * read, and returns it when its response is done or its connection closes.
 */
export function inflightBudget(limits: Pick<WebhookLimits, "maxBodyBytes" | "maxInflightBytes">) {
  let inFlight = 0;
  const largeCeiling = limits.maxInflightBytes - Math.floor(limits.maxInflightBytes / 8);
  return {
    inFlight: () => inFlight,
    /** A release function, or the refusal's code. */
    reserve(contentLength: string | undefined): { ok: true; release: () => void } | { ok: false; code: "body-too-large" | "server-busy"; bytes: number } {
      const declared = contentLength === undefined ? NaN : Number(contentLength);
      const bytes = Number.isSafeInteger(declared) && declared >= 0 ? declared : limits.maxBodyBytes;
      if (bytes > limits.maxBodyBytes) return { ok: false, code: "body-too-large", bytes };
      const ceiling = bytes > SMALL_BODY_BYTES ? largeCeiling : limits.maxInflightBytes;
      if (inFlight + bytes > ceiling) return { ok: false, code: "server-busy", bytes };
      inFlight += bytes;
      let released = false;
      return {
        ok: true,
        release: () => {
          if (released) return;
          released = true;
          inFlight -= bytes;
        },
      };
    },
  };
}

export interface WebhookDeps {
  config(): InjectorConfig;
  namespaces: NamespaceSource;
  metrics: WebhookMetrics;
  logger: Logger;
  /** False while draining, so /ready fails and the Service stops sending. */
  ready?(): boolean;
  /** Only the body limits are read here; the timeouts are the server's. */
  limits?: Pick<WebhookLimits, "maxBodyBytes" | "maxInflightBytes">;
}

export function createWebhookApp(deps: WebhookDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  const limits = { ...DEFAULT_WEBHOOK_LIMITS, ...deps.limits };
  const budget = inflightBudget(limits);
  const count = (code: OutcomeCode | "body-too-large" | "server-busy", started: bigint) => {
    deps.metrics.admissions.inc({ decision: code });
    deps.metrics.duration.observe({ decision: code }, Number(process.hrtime.bigint() - started) / 1e9);
  };

  app.get("/live", (_req, res) => void res.send("ok"));
  app.get("/ready", (_req, res) => void (deps.ready?.() === false ? res.status(503).send("draining") : res.send("ok")));

  // Before a byte of the body is read: a refused request costs nothing, and its
  // connection is closed so its unread body is never read either.
  const reserve = (req: Request, res: Response, next: NextFunction) => {
    const reserved = budget.reserve(req.headers["content-length"]);
    if (reserved.ok) {
      // "close" follows both a finished response and a dropped connection.
      res.once("close", reserved.release);
      next();
      return;
    }
    const started = process.hrtime.bigint();
    res.setHeader("Connection", "close");
    count(reserved.code, started);
    if (reserved.code === "body-too-large") {
      deps.logger.warn({ limit: limits.maxBodyBytes, bytes: reserved.bytes }, "admission request body too large");
      res.status(413).json({ error: reserved.code, message: `request bodies are limited to ${limits.maxBodyBytes} bytes` });
      return;
    }
    deps.logger.warn({ inFlight: budget.inFlight(), limit: limits.maxInflightBytes, bytes: reserved.bytes }, "admission request refused: too many request bytes in flight");
    res.status(503).json({ error: reserved.code, message: `the webhook already holds ${budget.inFlight()} of its ${limits.maxInflightBytes} bytes of request bodies in flight; retry` });
  };

  app.post(INJECT_PATH, reserve, express.json({ limit: limits.maxBodyBytes, type: () => true }), async (req: Request, res: Response) => {
    const started = process.hrtime.bigint();
    const classified = classifyReview(req.body);
    if (!classified.ok) {
      deps.logger.warn({ code: classified.code, reason: classified.message }, "bad admission request");
      count(classified.code, started);
      res.status(400).json({ error: classified.code, message: classified.message });
      return;
    }
    if (classified.value.kind === "passthrough") {
      const p = classified.value.passthrough;
      deps.logger.warn({ uid: p.uid, code: p.code, reason: p.message }, "admission allowed without injection");
      count(p.code, started);
      res.json(admissionReviewResponse({ uid: p.uid, apiVersion: p.apiVersion, code: p.code, message: p.message }));
      return;
    }
    const { uid, namespace, pod } = classified.value.admission;
    const podName = pod.metadata?.name ?? `${pod.metadata?.generateName ?? ""}*`;
    const ns = await deps.namespaces.get(namespace);
    if (!ns.ok) {
      deps.logger.error({ uid, namespace, pod: podName, reason: ns.message }, "namespace lookup failed: pod allowed without injection");
      count("namespace-lookup-failed", started);
      res.json(admissionReviewResponse({ uid, code: "namespace-lookup-failed", message: ns.message }));
      return;
    }
    let answer;
    try {
      const result = inject(pod, ns.value, deps.config());
      answer = { uid, code: result.decision.code, message: result.decision.message, patch: result.patch, warnings: result.warnings };
    } catch (err) {
      // The pod passed validation but something in it still surprised the injector.
      deps.logger.error({ uid, namespace, pod: podName, err }, "injection failed: pod allowed without injection");
      answer = { uid, code: "injection-failed" as const, message: (err as Error).message };
    }
    deps.logger.info({ uid, namespace, pod: podName, decision: answer.code, warnings: answer.warnings?.length ? answer.warnings : undefined }, "admission");
    count(answer.code, started);
    res.json(admissionReviewResponse(answer));
  });

  // Body errors from express.json: too large, not JSON. Never a stack trace out.
  app.use((err: Error & { type?: string; status?: number }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const started = process.hrtime.bigint();
    if (err.type === "entity.too.large") {
      deps.logger.warn({ limit: limits.maxBodyBytes }, "admission request body too large");
      count("body-too-large", started);
      res.setHeader("Connection", "close");
      res.status(413).json({ error: "body-too-large", message: `request bodies are limited to ${limits.maxBodyBytes} bytes` });
      return;
    }
    const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    deps.logger.warn({ reason: err.message, status }, "bad admission request body");
    count("not-admission-review", started);
    res.status(status === 500 ? 400 : status).json({ error: "not-admission-review", message: "the body is not JSON" });
  });
  return app;
}

export interface TlsFiles {
  cert: string;
  key: string;
}

export interface RunningServer {
  port: number;
  /** Swaps the serving certificate for new connections. */
  setCertificate(tls: TlsFiles): void;
  close(): Promise<void>;
}

function closeServer(server: Server | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    // In-flight admissions finish (they take milliseconds); keep-alive sockets
    // the apiserver holds open would otherwise keep the server open forever.
    setTimeout(() => server.closeAllConnections(), 2_000).unref();
  });
}

function listen(server: Server | HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startWebhookServer(
  app: express.Express,
  tls: TlsFiles,
  options: { port: number; host: string; limits?: Partial<Pick<WebhookLimits, "requestTimeoutMs" | "headersTimeoutMs">> },
): Promise<RunningServer> {
  const requestTimeout = options.limits?.requestTimeoutMs ?? DEFAULT_WEBHOOK_LIMITS.requestTimeoutMs;
  // Node refuses a headers timeout longer than the request timeout.
  const headersTimeout = Math.min(options.limits?.headersTimeoutMs ?? DEFAULT_WEBHOOK_LIMITS.headersTimeoutMs, requestTimeout);
  const server = createHttpsServer(
    {
      cert: tls.cert,
      key: tls.key,
      ...TLS_POLICY,
      handshakeTimeout: headersTimeout,
      headersTimeout,
      requestTimeout,
      // Node checks both timeouts on this interval (default 30 s): without it a
      // stalled request would outlive its timeout by up to that much.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(headersTimeout / 2))),
    },
    app,
  );
  server.keepAliveTimeout = 60_000;
  const port = await listen(server, options.port, options.host);
  return {
    port,
    setCertificate: (next) => server.setSecureContext({ cert: next.cert, key: next.key, ...TLS_POLICY }),
    close: () => closeServer(server),
  };
}

/** Plain HTTP for /metrics, /live and /ready (scraped inside the cluster network). */
export async function startMetricsServer(deps: Pick<WebhookDeps, "metrics" | "ready">, options: { port: number; host: string }): Promise<{ port: number; close(): Promise<void> }> {
  const app = express();
  app.disable("x-powered-by");
  app.get("/live", (_req, res) => void res.send("ok"));
  app.get("/ready", (_req, res) => void (deps.ready?.() === false ? res.status(503).send("draining") : res.send("ok")));
  app.get("/metrics", async (_req, res) => {
    res.set("Content-Type", deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });
  const server = createHttpServer(app);
  const port = await listen(server, options.port, options.host);
  return { port, close: () => closeServer(server) };
}
