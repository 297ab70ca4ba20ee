#!/usr/bin/env node
// weft-control-plane: flags, wiring and signals. The identity service (CA) runs
// here; further services (discovery) are wired in startControlPlane next to it
// and share the serving certificate, the metrics registry and the drains.
import "./main-flags.ts";
import { KubeConfig } from "@kubernetes/client-node";
import { join } from "node:path";
import { createLogger, type Logger } from "../../lib/log.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { Shutdown } from "../../lib/shutdown.ts";
import { ServingCertificate, servingCredentials } from "./ca-serving-cert.ts";
import { CaWatcher } from "./ca-watcher.ts";
import type { DiscoveryServer } from "./discovery-server.ts";
import { startDiscovery } from "./discovery-wiring.ts";
import { CONTROL_PLANE_USAGE, parseControlPlaneFlags, type ControlPlaneConfig } from "./identity-config.ts";
import { startIdentityServer, type IdentityServer } from "./identity-server.ts";
import type { IdentityVerifier } from "./identity-verifier.ts";
import { LocalTokenVerifier, readLocalTokenKey } from "./identity-verifier-local-token.ts";
import { tokenReviewClient, TokenReviewVerifier } from "./identity-verifier-token-review.ts";
import { createControlPlaneMetrics, startAdminServer, type AdminServer, type ControlPlaneMetrics } from "./metrics.ts";
import type { Tracing } from "../../lib/tracing.ts";
import { registerTracingMetrics } from "../../lib/tracing-metrics.ts";
import { controlPlaneTracingFromEnv } from "./tracing-setup.ts";
import { systemClock } from "../../lib/clock.ts";
import { subjectAccessReviewer } from "./tap-authorize.ts";
import { kubeTapCluster, readRequestHeaderAuth } from "./tap-kube.ts";
import { startTapServer, type RequestHeaderAuth } from "./tap-server.ts";
import { readServingPair, type ServingPair } from "./tap-serving-tls.ts";

export interface ControlPlane {
  config: ControlPlaneConfig;
  metrics: ControlPlaneMetrics;
  watcher: CaWatcher;
  /** The control plane's own certificate; other gRPC services serve with servingCredentials(serving, true). */
  serving: ServingCertificate;
  identity: IdentityServer;
  discovery: DiscoveryServer;
  admin: AdminServer;
  /** Spans of issuance and pushes (a no-op without WEFT_TRACING_ENDPOINT). */
  tracing: Tracing;
}

export function kubeConfigFor(config: ControlPlaneConfig): KubeConfig {
  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromDefault();
  return kc;
}

export function buildVerifier(config: ControlPlaneConfig): Result<IdentityVerifier> {
  if (config.mode === "local") {
    const key = readLocalTokenKey(config.localTokenKeyFile ?? join(config.issuerDir, "local-token.key"));
    return key.ok ? ok(new LocalTokenVerifier(key.value, config.trustDomain)) : key;
  }
  try {
    return ok(new TokenReviewVerifier(tokenReviewClient(kubeConfigFor(config)), config.trustDomain));
  } catch (err) {
    return fail("kubeconfig", `cannot load Kubernetes credentials: ${(err as Error).message}`);
  }
}

/** Starts every service; registers their drains on `shutdown` (last started, first drained). */
export async function startControlPlane(
  config: ControlPlaneConfig,
  logger: Logger,
  shutdown: Shutdown,
  env: Record<string, string | undefined> = process.env,
): Promise<Result<ControlPlane>> {
  const verifier = buildVerifier(config);
  if (!verifier.ok) return verifier;
  const metrics = createControlPlaneMetrics();
  const tracing = await controlPlaneTracingFromEnv(env, config, logger);
  if (!tracing.ok) return tracing;
  // Registered first, drained last: spans of the other drains still get out.
  shutdown.add("tracing", () => tracing.value.shutdown());
  registerTracingMetrics(metrics.registry, tracing.value, "weft_control_plane_");
  const tracer = tracing.value.enabled ? tracing.value.tracer : undefined;

  const watcher = new CaWatcher({
    source: {
      issuerDir: config.issuerDir,
      ...(config.anchorsFile ? { anchorsFile: config.anchorsFile } : {}),
      renewFile: config.renewFile ?? join(config.issuerDir, "renew-before"),
    },
    logger: logger.child({ component: "ca" }),
    pollMs: config.caPollMs,
    onReload: (result) => metrics.identity.reloads.inc({ result }),
  });
  // Not fatal: the service answers UNAVAILABLE and /ready says why until the files load.
  if (!(await watcher.start())) logger.error({ issuerDir: config.issuerDir }, "no valid issuer yet; not ready until one loads");
  shutdown.add("ca-watcher", () => watcher.stop());
  metrics.identity.setIssuerSource(() => watcher.current()?.issuer);

  const serving = new ServingCertificate({
    watcher,
    identity: { trustDomain: config.trustDomain, namespace: config.namespace, serviceAccount: config.serviceAccount },
    logger: logger.child({ component: "serving-cert" }),
  });
  await serving.start();
  shutdown.add("serving-cert", () => serving.stop());

  const admin = await startAdminServer({
    host: config.host,
    port: config.adminPort,
    registry: metrics.registry,
    ready: () => {
      const reasons = [];
      if (!watcher.current()) reasons.push("no issuer loaded");
      if (!serving.current()) reasons.push("no serving certificate");
      return { ready: reasons.length === 0, reasons };
    },
  });
  shutdown.add("admin", () => admin.close());

  const identity = await startIdentityServer({
    host: config.host,
    port: config.identityPort,
    credentials: servingCredentials(serving, false),
    ca: () => watcher.current(),
    verifier: verifier.value,
    leafLifetimeMs: config.leafLifetimeMs,
    limits: config.identityLimits,
    metrics: metrics.identity,
    logger: logger.child({ component: "identity" }),
    tracer,
    trust: watcher,
  });
  shutdown.add("identity", () => identity.stop(config.drainMs));

  const discovery = await startDiscovery({
    config,
    credentials: servingCredentials(serving, true),
    registry: metrics.registry,
    logger,
    shutdown,
    kubeConfig: () => kubeConfigFor(config),
    tracer,
  });
  if (!discovery.ok) return discovery;
  if (config.tapPort !== undefined && config.mode === "kubernetes") {
    const kc = kubeConfigFor(config);
    const tapLogger = logger.child({ component: "tap" });
    // The requestheader CA may rotate with the apiserver's: re-read every minute, keep the last good one.
    let requestHeader: RequestHeaderAuth | undefined;
    // The serving certificate too (a mounted Secret, replaced on rotation).
    let servingPair: ServingPair | undefined;
    const tapTls = config.tapTls;
    const refresh = (): Promise<void> => {
      if (tapTls) {
        const pair = readServingPair(tapTls);
        if (pair.ok) servingPair = pair.value;
        else tapLogger.error({ reason: pair.message }, "cannot load the tap serving certificate");
      }
      return readRequestHeaderAuth(kc).then((r) => { requestHeader = r ?? requestHeader; }, (err: unknown) => tapLogger.warn({ err: String(err) }, "cannot read extension-apiserver-authentication"));
    };
    await refresh();
    const timer = setInterval(() => void refresh(), 60_000);
    timer.unref();
    const tap = await startTapServer({
      host: config.host,
      port: config.tapPort,
      tls: () => serving.current(),
      ...(tapTls ? { serving: () => servingPair } : {}),
      requestHeader: () => requestHeader,
      review: subjectAccessReviewer(kc),
      cluster: kubeTapCluster(kc, config.trustDomain),
      trustDomain: config.trustDomain,
      clock: systemClock,
      logger: tapLogger,
    });
    shutdown.add("tap", () => {
      clearInterval(timer);
      return tap.close();
    });
  }
  logger.info({ mode: config.mode, identityPort: identity.port, discoveryPort: discovery.value.port, adminPort: admin.port, trustDomain: config.trustDomain }, "control plane started");
  return ok({ config, metrics, watcher, serving, identity, discovery: discovery.value, admin, tracing: tracing.value });
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(CONTROL_PLANE_USAGE);
    return;
  }
  const namespace = process.env.WEFT_NAMESPACE;
  const config = parseControlPlaneFlags(argv, namespace ? { namespace } : {});
  if (!config.ok) {
    console.error(`weft-control-plane: ${config.message}\n\n${CONTROL_PLANE_USAGE}`);
    process.exitCode = 2;
    return;
  }
  const logger = createLogger({ component: "control-plane", level: config.value.logLevel });
  const shutdown = new Shutdown({ logger, deadlineMs: config.value.drainMs + 5_000 });
  shutdown.listen();
  let started: Result<ControlPlane>;
  try {
    started = await startControlPlane(config.value, logger, shutdown);
  } catch (err) {
    started = fail("start-failed", (err as Error).message);
  }
  if (!started.ok) {
    logger.fatal({ code: started.code, reason: started.message }, "cannot start");
    process.exit(1);
  }
}

if (import.meta.main) await main(process.argv.slice(2));
