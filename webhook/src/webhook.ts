// Wires one webhook: configuration and certificate files (reloaded on change),
// the HTTPS admission server and the metrics server. main.ts adds flags and
// signals; tests and the benchmark call runWebhook directly.
import { createSecureContext } from "node:tls";
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/log.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { summarizeBundle } from "../../lib/trust-bundle.ts";
import { DEFAULT_INJECTOR_CONFIG, parseInjectorConfig, type InjectorConfig } from "./injector-config.ts";
import { createWebhookMetrics, type WebhookMetrics } from "./metrics.ts";
import type { NamespaceSource } from "./namespace-source.ts";
import { resolveNativeSidecar, type ServerVersion } from "./native-sidecar.ts";
import { watchReloadable, type Reloadable } from "./file-reload.ts";
import { createWebhookApp, startMetricsServer, startWebhookServer, type TlsFiles, type WebhookLimits, DEFAULT_WEBHOOK_LIMITS } from "./server.ts";

export interface WebhookOptions {
  tlsCertFile: string;
  tlsKeyFile: string;
  /** Without a file the built-in defaults apply. */
  configFile?: string;
  /**
   * The mesh's trust bundle (PEM) that injected proxies bootstrap with, replacing the
   * configuration's controlPlane.trustAnchorsPem: the chart mounts the bundle's own source
   * here (the CA Secret's ca.crt, or a trust-manager Bundle's ConfigMap), so a rotation
   * reaches new pods without anyone rewriting the injector's configuration.
   */
  trustAnchorsFile?: string;
  port: number;
  /** Omit for no metrics server. */
  metricsPort?: number;
  host?: string;
  namespaces: NamespaceSource;
  logger: Logger;
  /** For `nativeSidecar: auto`. */
  serverVersion?: ServerVersion;
  /** How often the configuration and certificate files are checked for changes (default 2 s). */
  pollMs?: number;
  /** Drives that polling (default: the system clock); tests pass a fake one. */
  clock?: Clock;
  metrics?: WebhookMetrics;
  /** Memory and time bounds on what clients send (defaults: DEFAULT_WEBHOOK_LIMITS). */
  limits?: Partial<WebhookLimits>;
}

export interface RunningWebhook {
  port: number;
  metricsPort: number | undefined;
  metrics: WebhookMetrics;
  config(): InjectorConfig;
  reloadConfig(): boolean;
  reloadCertificate(): boolean;
  /** Fails /ready, then closes the servers after in-flight requests. */
  close(): Promise<void>;
}

/** A trust bundle file: one or more PEM certificates, as written; anything else is refused. */
export function readTrustAnchors(text: string): Result<string> {
  const summary = summarizeBundle(text);
  if (!summary.ok) return summary;
  if (summary.value.length === 0) return fail("no-anchors", "holds no PEM certificate");
  return ok(text);
}

function loadTls([cert, key]: string[]): Result<TlsFiles> {
  try {
    createSecureContext({ cert, key });
    return ok({ cert: cert ?? "", key: key ?? "" });
  } catch (err) {
    return fail("bad-certificate", `serving certificate and key do not load: ${(err as Error).message}`);
  }
}

export async function runWebhook(options: WebhookOptions): Promise<Result<RunningWebhook>> {
  const logger = options.logger;
  const metrics = options.metrics ?? createWebhookMetrics();
  const counted = (file: string) => (result: "ok" | "error") => metrics.reloads.inc({ file, result });
  const resolve = (c: InjectorConfig) => resolveNativeSidecar(c, options.serverVersion);

  let config: Reloadable<InjectorConfig>;
  const paths = [options.configFile, options.trustAnchorsFile].filter((p): p is string => p !== undefined);
  if (paths.length > 0) {
    const watched = watchReloadable({
      name: "config",
      paths,
      load: (contents) => {
        // contents follow `paths`: the configuration's first when there is one.
        const configText = options.configFile ? contents[0] : undefined;
        const anchorsText = options.trustAnchorsFile ? contents[contents.length - 1] : undefined;
        const parsed = configText === undefined ? ok(DEFAULT_INJECTOR_CONFIG) : parseInjectorConfig(configText);
        if (!parsed.ok) return parsed;
        if (anchorsText === undefined) return ok(resolve(parsed.value));
        const anchors = readTrustAnchors(anchorsText);
        if (!anchors.ok) return fail(anchors.code, `${options.trustAnchorsFile ?? ""}: ${anchors.message}`);
        return ok(resolve({ ...parsed.value, controlPlane: { ...parsed.value.controlPlane, trustAnchorsPem: anchors.value } }));
      },
      logger,
      pollMs: options.pollMs,
      clock: options.clock,
      onReload: counted("config"),
    });
    if (!watched.ok) return fail(watched.code, `config ${paths.join(", ")}: ${watched.message}`);
    config = watched.value;
  } else {
    const fixed = resolve(DEFAULT_INJECTOR_CONFIG);
    config = { current: () => fixed, reload: () => true, stop: () => {} };
  }

  let draining = false;
  const app = createWebhookApp({ config: config.current, namespaces: options.namespaces, metrics, logger, ready: () => !draining, limits: { ...DEFAULT_WEBHOOK_LIMITS, ...options.limits } });
  // The certificate watcher starts before the server exists; it swaps certificates once it does.
  const serving: { server?: Awaited<ReturnType<typeof startWebhookServer>> } = {};
  const tls = watchReloadable({
    name: "certificate",
    paths: [options.tlsCertFile, options.tlsKeyFile],
    load: loadTls,
    logger,
    pollMs: options.pollMs,
    clock: options.clock,
    onReload: (result, value) => {
      counted("certificate")(result);
      if (result === "ok") serving.server?.setCertificate(value);
    },
  });
  if (!tls.ok) {
    config.stop();
    return fail(tls.code, tls.message);
  }
  const host = options.host ?? "0.0.0.0";
  const server = await startWebhookServer(app, tls.value.current(), { port: options.port, host, limits: options.limits });
  serving.server = server;
  const metricsServer = options.metricsPort === undefined ? undefined : await startMetricsServer({ metrics, ready: () => !draining }, { port: options.metricsPort, host });
  logger.info({ port: server.port, metricsPort: metricsServer?.port, nativeSidecar: config.current().nativeSidecar }, "webhook serving");
  return ok({
    port: server.port,
    metricsPort: metricsServer?.port,
    metrics,
    config: config.current,
    reloadConfig: config.reload,
    reloadCertificate: tls.value.reload,
    close: async () => {
      draining = true;
      config.stop();
      tls.value.stop();
      await Promise.all([server.close(), metricsServer?.close()]);
    },
  });
}
