// Test harness: real proxies on loopback with fixed mappings. One client proxy
// (outbound listeners bound to Service addresses) and one server proxy per
// backend (inbound listener for the app's port), real mTLS between them.
import type { ServicePort } from "../../api/gen/weft/discovery/v1/ServicePort.ts";
import type { Endpoint } from "../../api/gen/weft/discovery/v1/Endpoint.ts";
import type { ProxyPolicy } from "../../api/gen/weft/discovery/v1/ProxyPolicy.ts";
import type { ClientPolicy } from "../../api/gen/weft/discovery/v1/ClientPolicy.ts";
import { silentLogger } from "../../lib/log.ts";
import { applySnapshot, snapshotFromJson, type MeshState } from "../../sidecar/src/discovery/mesh-state.ts";
import { CredentialsHolder } from "../../sidecar/src/identity/credentials-source.ts";
import { MeshView } from "../../sidecar/src/discovery/mesh-view.ts";
import { startProxy, type RunningProxy } from "../../sidecar/src/proxy.ts";
import type { BreakerConfig } from "../../sidecar/src/outbound/circuit-breaker.ts";
import type { RequestObserver } from "../../sidecar/src/http/request-observer.ts";
import { createTestMesh, issueTestLeaf, type TestLeaf, type TestMesh } from "../fixtures/mesh-pki.ts";

export const CLUSTER_IP = "10.96.0.10";
export const SERVICE_PORT = 80;

let meshPromise: Promise<{ mesh: TestMesh; client: TestLeaf; server: TestLeaf; intruder: TestLeaf }> | undefined;

/** One PKI per test run (key generation is the slow part). */
export function testPki(): Promise<{ mesh: TestMesh; client: TestLeaf; server: TestLeaf; intruder: TestLeaf }> {
  meshPromise ??= (async () => {
    const mesh = await createTestMesh();
    return {
      mesh,
      client: await issueTestLeaf(mesh, { namespace: "default", serviceAccount: "client" }),
      server: await issueTestLeaf(mesh, { namespace: "default", serviceAccount: "server" }),
      intruder: await issueTestLeaf(mesh, { namespace: "other", serviceAccount: "intruder" }),
    };
  })();
  return meshPromise;
}

export function holder(leaf: TestLeaf): CredentialsHolder {
  const h = new CredentialsHolder();
  const r = h.set({ keyPem: leaf.keyPem, certChainPem: leaf.certChainPem, anchorsPem: leaf.anchorsPem });
  if (!r.ok) throw new Error(r.message);
  return h;
}

export function meshState(input: { services?: unknown[]; policy?: ProxyPolicy }): MeshState {
  const snap = snapshotFromJson({ version: "test.1", full: true, services: input.services ?? [], policy: input.policy ?? { inbound: { mode: "STRICT" } } });
  if (!snap.ok) throw new Error(snap.message);
  const applied = applySnapshot(null, snap.value);
  if (!applied.ok) throw new Error(applied.message);
  return applied.value;
}

export interface Backend {
  appPort: number;
  zone?: string;
  ready?: boolean;
  terminating?: boolean;
  /** The identity the snapshot names (default: the server leaf's). */
  identity?: string;
  /** Credentials the backend's proxy presents (default: server leaf). */
  leaf?: TestLeaf;
}

export interface Mesh {
  client: RunningProxy;
  clientView: MeshView;
  servers: RunningProxy[];
  /** Local port of the client proxy's listener for the Service. */
  port: number;
  stop(): Promise<void>;
}

function peerTransportFromEnv(): "h1" | "h2" | undefined {
  const t = process.env.WEFT_TEST_PEER_TRANSPORT;
  return t === "h1" || t === "h2" ? t : undefined;
}

export async function startMesh(options: {
  backends: Backend[];
  appProtocol?: string;
  clientPolicy?: ClientPolicy;
  inboundMode?: "STRICT" | "PERMISSIVE";
  breaker?: BreakerConfig;
  opaquePorts?: number[];
  headersTimeoutMs?: number;
  /** Protocol detection window of every proxy in the mesh (default: the proxy's). */
  detectTimeoutMs?: number;
  observer?: RequestObserver;
  /** Default: WEFT_TEST_PEER_TRANSPORT (so the whole suite can run over either transport), else the proxy's default. */
  peerTransport?: "h2" | "h1";
  /** Give every server proxy an admin port too (the client always has one): for scraping them all. */
  serverAdmin?: boolean;
}): Promise<Mesh> {
  const pki = await testPki();
  const servers: RunningProxy[] = [];
  const dial = new Map<string, { host: string; port: number }>();
  const endpoints: Endpoint[] = [];
  for (const [i, b] of options.backends.entries()) {
    const view = new MeshView();
    view.update(meshState({ policy: { inbound: { mode: options.inboundMode ?? "STRICT" } } }));
    const proxy = await startProxy({
      view,
      credentials: holder(b.leaf ?? pki.server),
      logger: silentLogger(),
      listenHost: "127.0.0.1",
      inboundApps: [{ listenPort: 0, appPort: b.appPort }],
      detectTimeoutMs: options.detectTimeoutMs,
      ...(options.serverAdmin ? { adminPort: 0 } : {}),
    });
    servers.push(proxy);
    const address = `10.0.${i}.1`;
    dial.set(`${address}:${b.appPort}`, { host: "127.0.0.1", port: proxy.ports.get("inbound:0") ?? 0 });
    endpoints.push({ address, ports: { http: b.appPort }, zone: b.zone ?? "", ready: b.ready ?? true, serving: true, terminating: b.terminating ?? false, meshed: true, identity: b.identity ?? pki.server.spiffeId });
  }
  const port: ServicePort = { name: "http", port: SERVICE_PORT, protocol: "TCP", appProtocol: options.appProtocol ?? "" };
  const clientView = new MeshView(dial);
  clientView.update(
    meshState({
      services: [{ namespace: "default", name: "echo", clusterIps: [CLUSTER_IP], ports: [port], endpoints, clientPolicy: options.clientPolicy }],
    }),
  );
  const client = await startProxy({
    view: clientView,
    credentials: holder(pki.client),
    logger: silentLogger(),
    listenHost: "127.0.0.1",
    outboundBinds: [{ listenPort: 0, address: CLUSTER_IP, port: SERVICE_PORT }],
    adminPort: 0,
    breaker: options.breaker,
    opaquePorts: new Set(options.opaquePorts ?? []),
    headersTimeoutMs: options.headersTimeoutMs,
    detectTimeoutMs: options.detectTimeoutMs,
    observer: options.observer,
    peerTransport: options.peerTransport ?? peerTransportFromEnv(),
  });
  return {
    client,
    clientView,
    servers,
    port: client.ports.get("outbound:0") ?? 0,
    async stop() {
      await Promise.all([client.drain(2_000), ...servers.map((s) => s.drain(2_000))]);
    },
  };
}
