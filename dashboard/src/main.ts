// weft-dashboard: the dashboard's server in the cluster (charts/weft/templates/dashboard.yaml).
// Flags in, the live data source and the HTTP server out; `weft dashboard` reaches it
// over pods/portforward, so it is never exposed outside the cluster by default.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { createLogger } from "../../lib/log.ts";
import { Shutdown } from "../../lib/shutdown.ts";
import { querierOf } from "../../cli/src/prom-command.ts";
import { parseWindow } from "../../cli/src/prom-queries.ts";
import { liveData } from "./data-live.ts";
import { startDashboardServer } from "./server.ts";

const OPTIONS = {
  host: { type: "string", default: "0.0.0.0" },
  port: { type: "string", default: "8084" },
  assets: { type: "string" },
  window: { type: "string", default: "1m" },
  "jaeger-url": { type: "string", default: "" },
  "control-plane-namespace": { type: "string", default: "weft-system" },
  "trust-domain": { type: "string", default: "cluster.local" },
  "prometheus-url": { type: "string" },
  "prometheus-namespace": { type: "string", default: "weft-system" },
  "prometheus-service": { type: "string", default: "weft-prometheus" },
  "prometheus-port": { type: "string", default: "9090" },
  kubeconfig: { type: "string" },
  "log-level": { type: "string", default: "info" },
} as const;

/** The built browser app: beside this module in dist/ (dist/dashboard/web), or the build's output for a source run. */
export function defaultAssetsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${join("dist", "dashboard")}`) ? resolve(here, "..", "web") : resolve(here, "..", "..", "dist", "dashboard", "web");
}

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: OPTIONS, strict: true });
  const logger = createLogger({ component: "dashboard", level: values["log-level"] as "info" });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, not "${values.port}"`);
  const window = parseWindow(values.window);
  if (!window.ok) throw new Error(window.message);
  const jaegerUrl = values["jaeger-url"];
  if (jaegerUrl !== "" && !/^https?:\/\//.test(jaegerUrl)) throw new Error(`--jaeger-url must be an http(s) URL, not "${jaegerUrl}"`);
  const kc = new KubeConfig();
  if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
  else kc.loadFromDefault();
  const prometheus = await querierOf(kc, values);
  const data = liveData({ kc, prometheus, controlPlaneNamespace: values["control-plane-namespace"], trustDomain: values["trust-domain"] });
  const server = await startDashboardServer({
    data,
    assetsDir: values.assets ?? defaultAssetsDir(),
    config: { window: window.value, jaegerUrl: jaegerUrl.replace(/\/$/, "") },
    logger,
    host: values.host,
    port,
  });
  logger.info({ address: server.address() }, "dashboard serving");
  const shutdown = new Shutdown({ logger, deadlineMs: 5_000 });
  shutdown.add("http", () => new Promise<void>((r) => server.close(() => r())));
  shutdown.listen();
}

main().catch((err: unknown) => {
  console.error(JSON.stringify({ level: "fatal", component: "dashboard", msg: err instanceof Error ? err.message : String(err) }));
  process.exit(1);
});
