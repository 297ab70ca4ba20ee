// weft-proxy: flags, wiring and signals. Static mode reads a snapshot and
// credentials from files; control-plane mode gets both from the control plane
// and keeps serving with what it has while the control plane is unreachable.
import "./main-flags.ts";
import { createLogger } from "../../lib/log.ts";
import { Shutdown } from "../../lib/shutdown.ts";
import { systemClock } from "../../lib/clock.ts";
import { CredentialsHolder, loadCredentialFiles } from "./identity/credentials-source.ts";
import type { TrustStatus } from "./identity/trust-watch.ts";
import { MeshView } from "./discovery/mesh-view.ts";
import { validateInboundAuthorization } from "./authz/compile.ts";
import { validateRoutes } from "./routing/route-table.ts";
import { USAGE, loadConfig } from "./proxy-config.ts";
import { startProxy } from "./proxy.ts";
import { proxyTracingFromEnv } from "./tracing/setup.ts";
import { registerTracingMetrics } from "../../lib/tracing-metrics.ts";

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE);
    return 0;
  }
  const config = loadConfig(argv, process.env);
  if (!config.ok) {
    process.stderr.write(`${config.message}\n\n${USAGE}`);
    return 2;
  }
  const c = config.value;
  const logger = createLogger({ component: "proxy", level: c.logLevel });
  // The latency-tail timeline (GC pauses, loop stalls) for `npm run bench -- proxy`; unset, nothing is loaded.
  const statsFile = process.env["WEFT_RUNTIME_STATS_FILE"];
  const runtimeStats = statsFile ? (await import("./admin/runtime-stats.ts")).startRuntimeStats({ file: statsFile, clock: systemClock }) : undefined;
  const tracing = await proxyTracingFromEnv(process.env, logger);
  if (!tracing.ok) {
    logger.error({ code: tracing.code }, tracing.message);
    return 2;
  }
  const view = new MeshView(c.endpointDial);
  let credentials = new CredentialsHolder();
  let trust: TrustStatus | undefined;
  let stopControlPlane = (): void => undefined;
  if (c.mode.kind === "static") {
    // Loaded on demand: each mode pulls in libraries the other does not need.
    const { loadMeshStateFile } = await import("./discovery/mesh-state.ts");
    const state = await loadMeshStateFile(c.mode.snapshotFile);
    if (!state.ok) {
      logger.error({ code: state.code }, state.message);
      return 1;
    }
    const authz = validateInboundAuthorization(state.value.policy.inbound);
    if (!authz.ok) {
      logger.error({ code: authz.code }, `${c.mode.snapshotFile}: ${authz.message}`);
      return 1;
    }
    const routes = validateRoutes(state.value.routes.values());
    if (!routes.ok) {
      logger.error({ code: routes.code }, `${c.mode.snapshotFile}: ${routes.message}`);
      return 1;
    }
    view.update(state.value);
    const files = await loadCredentialFiles({ cert: c.mode.certFile, key: c.mode.keyFile, anchors: c.mode.trustAnchorsFile });
    if (!files.ok) {
      logger.error(files.message);
      return 1;
    }
    const set = credentials.set(files.value);
    if (!set.ok) {
      logger.error({ code: set.code }, set.message);
      return 1;
    }
  } else {
    const { startControlPlaneMode } = await import("./control-plane-mode.ts");
    // Until the first certificate is in, only the identity client's retries are pending, on
    // unref'd timers: without a ref'd handle a proxy started while the control plane is away
    // would exit 0 after its first failed attempt (a restart loop), instead of waiting for it.
    const holdOpen = setInterval(() => undefined, 3_600_000);
    const started = await startControlPlaneMode(c.mode, c, view, logger).finally(() => clearInterval(holdOpen));
    if (!started.ok) {
      logger.error({ code: started.code }, started.message);
      return 1;
    }
    credentials = started.value.credentials;
    trust = started.value.trust;
    stopControlPlane = started.value.stop;
  }
  // Only captured connections need SO_ORIGINAL_DST; the FFI library behind it (koffi, ~3 MB) loads only then.
  const captures = Boolean(c.outboundPort || c.inboundPort);
  const originalDestination = captures ? (await import("./capture/original-dst.ts")).getOriginalDestination : undefined;
  const proxy = await startProxy({
    view,
    credentials,
    ...(trust ? { trust } : {}),
    logger,
    originalDestination,
    listenHost: c.listenHost,
    outboundPort: c.outboundPort || undefined,
    inboundPort: c.inboundPort || undefined,
    adminPort: c.adminPort || undefined,
    outboundBinds: c.outboundBinds,
    inboundApps: c.inboundApps,
    zone: c.zone,
    opaquePorts: c.opaquePorts,
    appHost: c.appHost,
    appProbes: c.appProbes,
    detectTimeoutMs: c.detectTimeoutMs,
    peerTransport: c.peerTransport,
    // Disabled tracing yields NO_OBSERVER: the request path pays nothing.
    observer: tracing.value.observer,
    tap: c.tapIdentities.length > 0 ? { allowed: c.tapIdentities } : undefined,
    bootstrap: () => c,
  });
  registerTracingMetrics(proxy.metrics.registry, tracing.value.tracing, "weft_proxy_");
  logger.info({ ports: Object.fromEntries(proxy.ports), identity: credentials.current()?.spiffeId }, "proxy started");
  const shutdown = new Shutdown({ logger });
  if (runtimeStats) shutdown.add("runtime-stats", () => runtimeStats.stop());
  // Drains run last-added first: the proxy drains while its certificate stays fresh.
  shutdown.add("control-plane", stopControlPlane);
  shutdown.add("proxy", () => proxy.drain(20_000));
  shutdown.add("tracing", () => tracing.value.tracing.shutdown());
  shutdown.listen();
  return -1;
}

process.on("uncaughtException", (err) => {
  // Bad input must never take the proxy down; log and keep serving.
  process.stderr.write(`${JSON.stringify({ level: "error", msg: "uncaught exception", err: String(err?.stack ?? err) })}\n`);
});

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
