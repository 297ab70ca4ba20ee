// Wires the discovery service to its source: Kubernetes informers in
// kubernetes mode, the registry file in local mode. The server shares the
// control plane's serving certificate (client certificates required) and
// metrics registry; its drains are registered on the control plane's Shutdown.
import type { Tracer } from "@opentelemetry/api";
import type { ServerCredentials } from "@grpc/grpc-js";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../lib/log.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import type { Shutdown } from "../../lib/shutdown.ts";
import type { ControlPlaneConfig } from "./identity-config.ts";
import { startDiscoveryServer, type DiscoveryServer } from "./discovery-server.ts";
import { readRegistryFile, startRegistryFileSource } from "./source-registry-file.ts";

/** The registry file local mode reads when --registry is not given. */
export function registryPathFor(config: Pick<ControlPlaneConfig, "registryFile" | "issuerDir">): string {
  return config.registryFile ?? join(config.issuerDir, "registry.yaml");
}

export interface DiscoveryWiringOptions {
  config: ControlPlaneConfig;
  credentials: ServerCredentials;
  registry: Registry;
  logger: Logger;
  shutdown: Shutdown;
  /** Kubernetes mode: builds the KubeConfig (kept out of here so local mode never loads one). */
  kubeConfig: () => KubeConfig;
  /** Spans of snapshot pushes, when tracing is on. */
  tracer?: Tracer;
}

export async function startDiscovery(options: DiscoveryWiringOptions): Promise<Result<DiscoveryServer>> {
  const { config, logger, shutdown } = options;
  const log = logger.child({ component: "discovery" });
  if (config.mode === "local") {
    // Refuse a malformed registry at start with its line-numbered reason; later
    // edits that do not parse are refused by the watcher, keeping the last good model.
    // A missing file is not fatal: proxies wait (no empty push) until it appears.
    const path = registryPathFor(config);
    if (!existsSync(path)) log.warn({ path }, "no registry file yet; proxies get no mesh state until it exists");
    else {
      const first = await readRegistryFile(path, config.trustDomain, config.defaultInboundPolicy);
      if (!first.ok) return fail(first.code, `registry file: ${first.message}`);
    }
  }
  const server = await startDiscoveryServer({
    host: config.host,
    port: config.discoveryPort,
    tls: options.credentials,
    trustDomain: config.trustDomain,
    maxStreamsPerCertificate: config.discoveryMaxStreamsPerCertificate,
    registry: options.registry,
    logger: log,
    tracer: options.tracer,
  });
  shutdown.add("discovery", () => server.stop(config.drainMs));

  if (config.mode === "local") {
    const source = await startRegistryFileSource({
      path: registryPathFor(config),
      trustDomain: config.trustDomain,
      defaultPolicy: config.defaultInboundPolicy,
      onModel: (model) => server.publish(model),
      logger: log,
    });
    shutdown.add("registry-file", () => source.stop());
    return ok(server);
  }
  let kubeConfig;
  try {
    kubeConfig = options.kubeConfig();
  } catch (err) {
    await server.stop(0);
    return fail("kubeconfig", `cannot load Kubernetes credentials: ${(err as Error).message}`);
  }
  const { startKubernetesSource } = await import("./source-kubernetes.ts");
  const source = startKubernetesSource({ kubeConfig, trustDomain: config.trustDomain, defaultPolicy: config.defaultInboundPolicy, onModel: (build) => server.publish(build), logger: log });
  shutdown.add("kubernetes-source", () => source.stop());
  return ok(server);
}
