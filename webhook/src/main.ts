#!/usr/bin/env node
// weft-webhook: the injection webhook. Flags, wiring and signals only; the
// injector is injector.ts and the HTTP shell server.ts.
import { KubeConfig, VersionApi } from "@kubernetes/client-node";
import { parseArgs } from "node:util";
import { createLogger } from "../../lib/log.ts";
import { Shutdown } from "../../lib/shutdown.ts";
import { createWebhookMetrics } from "./metrics.ts";
import { KubernetesNamespaceSource } from "./namespace-source-kubernetes.ts";
import type { ServerVersion } from "./native-sidecar.ts";
import { runWebhook } from "./webhook.ts";

const USAGE = `usage: weft-webhook --tls-cert FILE --tls-key FILE [--config FILE] [--port 8443] [--metrics-port 9090]
                    [--host 0.0.0.0] [--kubeconfig FILE] [--log-level info]`;

function parseFlags() {
  try {
    const { values } = parseArgs({
      options: {
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        config: { type: "string" },
        port: { type: "string", default: "8443" },
        "metrics-port": { type: "string", default: "9090" },
        host: { type: "string", default: "0.0.0.0" },
        kubeconfig: { type: "string" },
        "log-level": { type: "string", default: "info" },
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
  port,
  metricsPort,
  host: flags.host,
  namespaces: new KubernetesNamespaceSource(kubeConfig),
  logger,
  serverVersion,
  metrics: createWebhookMetrics({ defaultMetrics: true }),
});
if (!started.ok) {
  logger.fatal({ code: started.code, reason: started.message }, "cannot start");
  process.exit(1);
}
const shutdown = new Shutdown({ logger });
shutdown.add("webhook", () => started.value.close());
shutdown.listen();
