// Test harness for routes (GAMMA): real proxies on loopback, as in
// mesh-harness.ts, with one parent Service ("default/echo", called at
// CLUSTER_IP:80) and one backend Service per app ("default/<name>"), each app
// behind its own server proxy. The client proxy's snapshot carries the
// routes; `setRoutes` applies new ones as a delta while traffic runs.
import type { ServiceRoutes } from "../../api/gen/weft/discovery/v1/ServiceRoutes.ts";
import { silentLogger } from "../../lib/log.ts";
import { applySnapshot, snapshotFromJson, type MeshState } from "../../sidecar/src/discovery/mesh-state.ts";
import { MeshView } from "../../sidecar/src/discovery/mesh-view.ts";
import { startProxy, type RunningProxy } from "../../sidecar/src/proxy.ts";
import { validateRoutes } from "../../sidecar/src/routing/route-table.ts";
import { CLUSTER_IP, SERVICE_PORT, holder, meshState, testPki } from "./mesh-harness.ts";

export interface RoutedMesh {
  client: RunningProxy;
  view: MeshView;
  /** The client proxy's listener for default/echo:80. */
  port: number;
  /** Applies `routes` as a delta on the client proxy's state, validated as the discovery client would. */
  setRoutes(routes: ServiceRoutes[]): void;
  stop(): Promise<void>;
}

/** `apps`: backend name -> the app's port on loopback. The parent Service's own endpoints are the first app's. */
export async function startRoutedMesh(apps: [string, number][], routes: ServiceRoutes[], appProtocol = ""): Promise<RoutedMesh> {
  const pki = await testPki();
  const servers: RunningProxy[] = [];
  const dial = new Map<string, { host: string; port: number }>();
  const services: unknown[] = [];
  for (const [i, [name, appPort]] of apps.entries()) {
    const view = new MeshView();
    view.update(meshState({ policy: { inbound: { mode: "STRICT" } } }));
    const proxy = await startProxy({ view, credentials: holder(pki.server), logger: silentLogger(), listenHost: "127.0.0.1", inboundApps: [{ listenPort: 0, appPort }] });
    servers.push(proxy);
    const address = `10.0.${i}.1`;
    dial.set(`${address}:${appPort}`, { host: "127.0.0.1", port: proxy.ports.get("inbound:0") ?? 0 });
    const endpoints = [{ address, ports: { http: appPort }, ready: true, serving: true, meshed: true, identity: pki.server.spiffeId }];
    const ports = [{ name: "http", port: SERVICE_PORT, protocol: "TCP", appProtocol }];
    services.push({ namespace: "default", name, clusterIps: [`10.96.1.${i + 1}`], ports, endpoints });
    if (i === 0) services.push({ namespace: "default", name: "echo", clusterIps: [CLUSTER_IP], ports, endpoints });
  }
  const snapshot = (version: string, full: boolean, r: ServiceRoutes[]): MeshState => {
    const snap = snapshotFromJson({ version, full, baseVersion: full ? "" : view.state?.version, services: full ? services : [], policy: { inbound: { mode: "STRICT" } }, routes: r });
    if (!snap.ok) throw new Error(snap.message);
    const applied = applySnapshot(full ? null : (view.state ?? null), snap.value);
    if (!applied.ok) throw new Error(applied.message);
    const valid = validateRoutes(applied.value.routes.values());
    if (!valid.ok) throw new Error(valid.message);
    return applied.value;
  };
  const view = new MeshView(dial);
  view.update(snapshot("r.1", true, routes));
  const client = await startProxy({
    view,
    credentials: holder(pki.client),
    logger: silentLogger(),
    listenHost: "127.0.0.1",
    outboundBinds: [{ listenPort: 0, address: CLUSTER_IP, port: SERVICE_PORT }],
    adminPort: 0,
  });
  let seq = 1;
  return {
    client,
    view,
    port: client.ports.get("outbound:0") ?? 0,
    setRoutes(r) {
      seq += 1;
      view.update(snapshot(`r.${seq}`, false, r));
    },
    async stop() {
      await Promise.all([client.drain(2_000), ...servers.map((s) => s.drain(2_000))]);
    },
  };
}
