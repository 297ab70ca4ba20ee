import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tls from "node:tls";
import { fileURLToPath } from "node:url";
import { silentLogger } from "../../lib/log.ts";
import { peerSpiffeId } from "../../sidecar/src/identity/credentials-peer.ts";
import { startProxyIdentity } from "../../sidecar/src/identity/bootstrap.ts";
import { staticToken } from "../../sidecar/src/identity/token.ts";
import { startIdentityHarness, type IdentityHarness } from "../control-plane/identity-harness.ts";

const PEER_SCRIPT = fileURLToPath(new URL("./identity-peer.ts", import.meta.url));
type Event = Record<string, unknown> & { event: string };

class Peer {
  readonly proc: ChildProcess;
  readonly events: Event[] = [];
  #waiters: (() => void)[] = [];
  stderr = "";

  constructor(env: Record<string, string>) {
    this.proc = spawn(process.execPath, [PEER_SCRIPT], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let buf = "";
    this.proc.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        this.events.push(JSON.parse(buf.slice(0, i)) as Event);
        buf = buf.slice(i + 1);
        for (const w of this.#waiters.splice(0)) w();
      }
    });
    this.proc.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.proc.on("exit", () => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  async waitFor(name: string, timeoutMs = 30_000): Promise<Event> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => e.event === name || e.event === "error");
      if (found) return found;
      if (this.proc.exitCode !== null || Date.now() > deadline) throw new Error(`no "${name}" event (exit ${this.proc.exitCode}); stderr: ${this.stderr}`);
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill("SIGKILL");
  }
}

describe("sidecar identity: mTLS between workloads with issued certificates", function () {
  this.timeout(90_000);
  let h: IdentityHarness;
  const peers: Peer[] = [];
  let anchorsFile: string;

  const peerEnv = (role: string, ns: string, sa: string, extra: Record<string, string> = {}) => ({
    WEFT_TEST_ROLE: role,
    WEFT_TEST_IDENTITY_ADDRESS: h.address,
    WEFT_TEST_ANCHORS_FILE: anchorsFile,
    WEFT_TEST_TOKEN: h.mint({ namespace: ns, serviceAccount: sa }),
    WEFT_TEST_SPIFFE_ID: `spiffe://cluster.local/ns/${ns}/sa/${sa}`,
    WEFT_TEST_CONTROL_PLANE_ID: h.controlPlaneSpiffeId,
    ...extra,
  });

  afterEach(() => {
    for (const p of peers.splice(0)) p.kill();
  });
  after(async () => h?.stop());

  describe("with day-long certificates", () => {
    before(async () => {
      h = await startIdentityHarness();
      anchorsFile = join(h.dir, "bootstrap-anchors.pem");
      writeFileSync(anchorsFile, h.mesh.anchorPem);
    });

    it("two processes complete an mTLS handshake and each sees the other's SPIFFE id", async () => {
      const server = new Peer(peerEnv("server", "shop", "cart"));
      peers.push(server);
      const { port } = await server.waitFor("listening");
      const client = new Peer(peerEnv("client", "web", "frontend", { WEFT_TEST_TARGET: `127.0.0.1:${port}`, WEFT_TEST_EXPECT_PEER: "spiffe://cluster.local/ns/shop/sa/cart" }));
      peers.push(client);
      const connected = await client.waitFor("connected");
      assert.equal(connected.peer, "spiffe://cluster.local/ns/shop/sa/cart", JSON.stringify(connected));
      assert.deepEqual((connected.reply as { sawPeer: string }).sawPeer, "spiffe://cluster.local/ns/web/sa/frontend");
      const accepted = await server.waitFor("accepted");
      assert.equal(accepted.peer, "spiffe://cluster.local/ns/web/sa/frontend");
    });

    it("a client expecting another server identity refuses the handshake", async () => {
      const server = new Peer(peerEnv("server", "shop", "cart"));
      peers.push(server);
      const { port } = await server.waitFor("listening");
      const client = new Peer(peerEnv("client", "web", "frontend", { WEFT_TEST_TARGET: `127.0.0.1:${port}`, WEFT_TEST_EXPECT_PEER: "spiffe://cluster.local/ns/shop/sa/payments" }));
      peers.push(client);
      const result = await client.waitFor("connected");
      assert.equal(result.event, "error");
      assert.match(String(result.message), /expected spiffe:\/\/cluster.local\/ns\/shop\/sa\/payments/);
    });

    it("a client without a mesh certificate is refused by the server", async () => {
      const server = new Peer(peerEnv("server", "shop", "cart"));
      peers.push(server);
      const { port } = await server.waitFor("listening");
      const err = await new Promise<Error | undefined>((resolve) => {
        const s = tls.connect({ host: "127.0.0.1", port: Number(port), ca: h.mesh.anchorPem, checkServerIdentity: () => undefined });
        s.on("data", () => resolve(undefined));
        s.on("error", resolve);
        s.on("close", () => resolve(new Error("closed")));
      });
      assert.ok(err, "the server must not talk to a client without a certificate");
    });
  });

  describe("with 5-second certificates", () => {
    before(async () => {
      await h?.stop();
      h = await startIdentityHarness({ leafLifetimeMs: 5_000 });
      anchorsFile = join(h.dir, "bootstrap-anchors.pem");
      writeFileSync(anchorsFile, h.mesh.anchorPem);
    });

    it("rotates several times while a connection stays up, and new connections keep succeeding", async () => {
      const server = new Peer(peerEnv("server", "shop", "cart"));
      peers.push(server);
      const { port } = await server.waitFor("listening");

      // The proxy's own wiring (control-plane mode uses the same call).
      const identity = await startProxyIdentity({
        address: h.address,
        trustAnchorsPem: h.mesh.anchorPem,
        serverIdentity: h.controlPlaneSpiffeId,
        token: staticToken(h.mint({ namespace: "web", serviceAccount: "frontend" })),
        spiffeId: "spiffe://cluster.local/ns/web/sa/frontend",
        logger: silentLogger(),
      });
      const { store, renewer } = identity;
      const dial = () =>
        new Promise<{ socket: tls.TLSSocket; serial: string; peer: string }>((resolve, reject) => {
          const socket = tls.connect({ host: "127.0.0.1", port: Number(port), ...store.clientOptions("spiffe://cluster.local/ns/shop/sa/cart") });
          socket.once("error", reject);
          socket.once("data", (d) => {
            const peer = peerSpiffeId(socket);
            resolve({ socket, serial: (JSON.parse(d.toString()) as { serial: string }).serial, peer: peer.ok ? peer.value.uri : peer.message });
          });
        });
      try {
        const longLived = await dial();
        const serverSerials = new Set<string>([longLived.serial]);
        const clientCerts = new Set<string>([store.current()!.certChain]);
        let newConnections = 0;
        // Leaves live seconds here, so rotation happens in real time: keep dialling (paced, as clients
        // would) until both sides have rotated three times, and fail with the counts if they never do.
        const rotated = () => serverSerials.size >= 3 && clientCerts.size >= 3 && renewer.renewals >= 3 && newConnections >= 10;
        const giveUpAt = Date.now() + 30_000;
        while (!rotated() && Date.now() < giveUpAt) {
          // The long-lived connection still carries data.
          const echoed = await new Promise<string>((resolve, reject) => {
            longLived.socket.once("error", reject);
            longLived.socket.once("data", (d) => {
              longLived.socket.off("error", reject);
              resolve(d.toString());
            });
            longLived.socket.write(`ping ${newConnections}`);
          });
          assert.equal(echoed, `ping ${newConnections}`);
          const fresh = await dial();
          assert.equal(fresh.peer, "spiffe://cluster.local/ns/shop/sa/cart");
          serverSerials.add(fresh.serial);
          clientCerts.add(store.current()!.certChain);
          fresh.socket.destroy();
          newConnections++;
          await new Promise((r) => setTimeout(r, 300));
        }
        longLived.socket.destroy();
        assert.ok(serverSerials.size >= 3, `server presented ${serverSerials.size} certificates`);
        assert.ok(clientCerts.size >= 3, `client used ${clientCerts.size} certificates`);
        assert.ok(renewer.renewals >= 3, `client renewed ${renewer.renewals} times`);
        assert.ok(newConnections >= 10, `only ${newConnections} new connections`);
      } finally {
        identity.stop();
      }
    });
  });
});
