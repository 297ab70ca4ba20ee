// A real identity service for tests: issuer files in a temp dir, the file
// watcher, the serving certificate, local-mode tokens and a gRPC server on an
// ephemeral loopback port, all torn down by stop().
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/log.ts";
import { CaWatcher } from "../../control-plane/src/ca-watcher.ts";
import { ServingCertificate, servingCredentials } from "../../control-plane/src/ca-serving-cert.ts";
import { createIdentityMetrics, type IdentityMetrics } from "../../control-plane/src/identity-metrics.ts";
import { startIdentityServer, type IdentityServer } from "../../control-plane/src/identity-server.ts";
import { generateLocalTokenKey, LocalTokenVerifier, mintLocalToken, type MintOptions } from "../../control-plane/src/identity-verifier-local-token.ts";
import { Registry } from "prom-client";
import type { Clock } from "../../lib/clock.ts";
import type { IdentityVerifier } from "../../control-plane/src/identity-verifier.ts";
import { createTestMesh, type TestMesh } from "../fixtures/mesh-pki.ts";

export const CONTROL_PLANE_ID = { namespace: "weft", serviceAccount: "weft-control-plane" };

export interface IdentityHarness {
  mesh: TestMesh;
  dir: string;
  address: string;
  server: IdentityServer;
  watcher: CaWatcher;
  registry: Registry;
  metrics: IdentityMetrics;
  tokenKey: Buffer;
  controlPlaneSpiffeId: string;
  mint(options: MintOptions): string;
  /** Writes a new issuer (and anchors) the way a kubelet updates a Secret volume. */
  writeIssuer(files: { ca: string; cert: string; key: string }): void;
  metricValue(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

export interface IdentityHarnessOptions {
  leafLifetimeMs?: number;
  trustDomain?: string;
  /** Default: local tokens signed with the harness's key (see mint()). */
  verifier?: IdentityVerifier;
  /** Another replica of the same control plane: its mesh (anchor and issuer) and token key; its own files and watcher. */
  replicaOf?: Pick<IdentityHarness, "mesh" | "tokenKey">;
  /** Default: an ephemeral port. */
  port?: number;
  /** The server's shutdown grace runs on it; default: the system clock. */
  clock?: Clock;
}

export async function startIdentityHarness(options: IdentityHarnessOptions = {}): Promise<IdentityHarness> {
  const mesh = options.replicaOf?.mesh ?? await createTestMesh({ trustDomain: options.trustDomain ?? "cluster.local" });
  const dir = mkdtempSync(join(tmpdir(), "weft-identity-"));
  let generation = 0;
  // Kubernetes-style: files are symlinks through ..data into a timestamped directory.
  const writeIssuer = (files: { ca: string; cert: string; key: string }) => {
    const gen = `..gen${++generation}`;
    mkdirSync(join(dir, gen));
    writeFileSync(join(dir, gen, "ca.crt"), files.ca);
    writeFileSync(join(dir, gen, "issuer.crt"), files.cert);
    writeFileSync(join(dir, gen, "issuer.key"), files.key);
    symlinkSync(gen, join(dir, "..data_tmp"));
    renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
    if (generation === 1) for (const f of ["ca.crt", "issuer.crt", "issuer.key"]) symlinkSync(join("..data", f), join(dir, f));
  };
  writeIssuer({ ca: mesh.anchorPem, cert: mesh.issuerCertPem, key: mesh.issuerKeyPem });

  const logger = silentLogger();
  const registry = new Registry();
  const metrics = createIdentityMetrics(registry);
  const watcher = new CaWatcher({ source: { issuerDir: dir, renewFile: join(dir, "renew-before") }, logger, pollMs: 5_000, debounceMs: 50, onReload: (r) => metrics.reloads.inc({ result: r }) });
  await watcher.start();
  metrics.setIssuerSource(() => watcher.current()?.issuer);
  const trustDomain = mesh.trustDomain;
  const serving = new ServingCertificate({ watcher, identity: { trustDomain, ...CONTROL_PLANE_ID }, logger });
  await serving.start();
  const tokenKey = options.replicaOf?.tokenKey ?? generateLocalTokenKey();
  const server = await startIdentityServer({
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    credentials: servingCredentials(serving, false),
    ca: () => watcher.current(),
    verifier: options.verifier ?? new LocalTokenVerifier(tokenKey, trustDomain),
    leafLifetimeMs: options.leafLifetimeMs ?? 3_600_000,
    metrics,
    logger,
    trust: watcher,
  });
  return {
    mesh,
    dir,
    address: `127.0.0.1:${server.port}`,
    server,
    watcher,
    registry,
    metrics,
    tokenKey,
    controlPlaneSpiffeId: `spiffe://${trustDomain}/ns/${CONTROL_PLANE_ID.namespace}/sa/${CONTROL_PLANE_ID.serviceAccount}`,
    mint: (o) => mintLocalToken(tokenKey, o),
    writeIssuer,
    async metricValue(name, labels = {}) {
      const metric = await registry.getSingleMetric(name)?.get();
      const match = metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
      return match?.value ?? 0;
    },
    async stop() {
      await server.stop(1_000);
      serving.stop();
      watcher.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
