// Child process of the identity benchmark: the real identity gRPC server
// (TLS, local-token verifier, issuer from files), reporting its own CPU time
// over IPC so the parent can normalise throughput per core.
import { Registry } from "prom-client";
import { silentLogger } from "../lib/log.ts";
import { ServingCertificate, servingCredentials } from "../control-plane/src/ca-serving-cert.ts";
import { CaWatcher } from "../control-plane/src/ca-watcher.ts";
import { createIdentityMetrics } from "../control-plane/src/identity-metrics.ts";
import { startIdentityServer, type IdentityServer } from "../control-plane/src/identity-server.ts";
import { LocalTokenVerifier } from "../control-plane/src/identity-verifier-local-token.ts";

type Command = { type: "start"; issuerDir: string; tokenKeyHex: string; trustDomain: string } | { type: "usage" } | { type: "stop" };
// The parent waits for this process to exit after "stop".

let server: IdentityServer | undefined;
let watcher: CaWatcher | undefined;
const registry = new Registry();
const metrics = createIdentityMetrics(registry);
const reply = (m: object): void => void process.send?.(m);

process.on("message", (raw: unknown) => {
  void handle(raw as Command).catch((err: unknown) => reply({ type: "error", message: String(err) }));
});

async function handle(cmd: Command): Promise<void> {
  switch (cmd.type) {
    case "start": {
      const logger = silentLogger();
      watcher = new CaWatcher({ source: { issuerDir: cmd.issuerDir }, logger });
      if (!(await watcher.start())) throw new Error("issuer did not load");
      const serving = new ServingCertificate({ watcher, identity: { trustDomain: cmd.trustDomain, namespace: "weft", serviceAccount: "weft-control-plane" }, logger });
      await serving.start();
      const w = watcher;
      server = await startIdentityServer({
        credentials: servingCredentials(serving, false),
        ca: () => w.current(),
        verifier: new LocalTokenVerifier(Buffer.from(cmd.tokenKeyHex, "hex"), cmd.trustDomain),
        leafLifetimeMs: 86_400_000,
        metrics,
        logger,
      });
      return reply({ type: "started", port: server.port });
    }
    case "usage": {
      const cpu = process.cpuUsage();
      const issued = (await registry.getSingleMetric("weft_identity_certificates_issued_total")?.get())?.values[0]?.value ?? 0;
      return reply({ type: "usage", cpuMicros: cpu.user + cpu.system, rss: process.memoryUsage().rss, issued });
    }
    case "stop":
      await server?.stop(1_000);
      watcher?.stop();
      process.exit(0);
  }
}
