#!/usr/bin/env node
// weft-webhook: the injection webhook. Flags, wiring and signals only; the
// injector is injector.ts and the HTTP shell server.ts.
import { KubeConfig, VersionApi } from "@kubernetes/client-node";
import { parseArgs } from "node:util";
import { createLogger } from "../../lib/log.ts";
import { Shutdown } from "../../lib/shutdown.ts";
import { parseDuration } from "../../lib/duration.ts";
import { createWebhookMetrics } from "./metrics.ts";
import { KubernetesNamespaceSource } from "./namespace-source-kubernetes.ts";
import type { ServerVersion } from "./native-sidecar.ts";
import { DEFAULT_WEBHOOK_LIMITS } from "./server.ts";
import { runWebhook } from "./webhook.ts";

const USAGE = `usage: weft-webhook --tls-cert FILE --tls-key FILE [--config FILE] [--trust-anchors FILE] [--port 8443] [--metrics-port 9090]
                    [--host 0.0.0.0] [--kubeconfig FILE] [--log-level info]
                    [--max-inflight-bytes 33554432] [--request-timeout 30s]
  --trust-anchors       the mesh's trust bundle (PEM) injected proxies bootstrap with, reloaded on change;
                        replaces the configuration's controlPlane.trustAnchorsPem
  --max-inflight-bytes  admission request bodies held at once, across all requests; more is refused with 503
  --request-timeout     a request's headers and body must arrive within this (the headers also within 10 s)`;

function parseFlags() {
  try {
    const { values } = parseArgs({
      options: {
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        config: { type: "string" },
        "trust-anchors": { type: "string" },
        port: { type: "string", default: "8443" },
        "metrics-port": { type: "string", default: "9090" },
        host: { type: "string", default: "0.0.0.0" },
        kubeconfig: { type: "string" },
        "log-level": { type: "string", default: "info" },
        "max-inflight-bytes": { type: "string", default: String(DEFAULT_WEBHOOK_LIMITS.maxInflightBytes) },
        "request-timeout": { type: "string", default: "30s" },
        help: { type: "boolean" },
      },
      strict: true,
    });
    return values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

const flags = parseFlags();
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}
const port = Number(flags.port);
const metricsPort = Number(flags["metrics-port"]);
if (!flags["tls-cert"] || !flags["tls-key"] || !Number.isInteger(port) || !Number.isInteger(metricsPort)) {
  console.error(USAGE);
  process.exit(2);
}
const maxInflightBytes = Number(flags["max-inflight-bytes"]);
if (!Number.isSafeInteger(maxInflightBytes) || maxInflightBytes < DEFAULT_WEBHOOK_LIMITS.maxBodyBytes) {
  console.error(`--max-inflight-bytes must be a whole number of at least ${DEFAULT_WEBHOOK_LIMITS.maxBodyBytes} (one largest request)\n${USAGE}`);
  process.exit(2);
}
const requestTimeout = parseDuration(flags["request-timeout"]);
if (!requestTimeout.ok || requestTimeout.value <= 0) {
  console.error(`--request-timeout: ${requestTimeout.ok ? "must be positive" : requestTimeout.message}\n${USAGE}`);
  process.exit(2);
}
const level = flags["log-level"] as "info";
const logger = createLogger({ component: "webhook", level });

const kubeConfig = new KubeConfig();
if (flags.kubeconfig) kubeConfig.loadFromFile(flags.kubeconfig);
else kubeConfig.loadFromDefault();

let serverVersion: ServerVersion | undefined;
try {
  serverVersion = await kubeConfig.makeApiClient(VersionApi).getCode();
} catch (err) {
  logger.warn({ reason: (err as Error).message }, "apiserver version unknown: nativeSidecar auto assumes 1.29+");
}

const started = await runWebhook({
  tlsCertFile: flags["tls-cert"],
  tlsKeyFile: flags["tls-key"],
  configFile: flags.config,
  trustAnchorsFile: flags["trust-anchors"],
  port,
  metricsPort,
  host: flags.host,
  namespaces: new KubernetesNamespaceSource(kubeConfig),
  logger,
  serverVersion,
  metrics: createWebhookMetrics({ defaultMetrics: true }),
  limits: { maxInflightBytes, requestTimeoutMs: requestTimeout.value },
});
if (!started.ok) {
  logger.fatal({ code: started.code, reason: started.message }, "cannot start");
  process.exit(1);
}
const shutdown = new Shutdown({ logger });
shutdown.add("webhook", () => started.value.close());
shutdown.listen();
