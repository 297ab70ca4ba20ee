// A mesh workload in its own process, for tests: gets its certificate from the
// identity service (key in memory only), keeps it renewed, and either serves
// mTLS (echoing its peer's SPIFFE id) or dials a server and reports the
// server's id. Talks to the test through JSON lines on stdout.
//   WEFT_TEST_ROLE=server|client WEFT_TEST_IDENTITY_ADDRESS=host:port
//   WEFT_TEST_ANCHORS_FILE=... WEFT_TEST_TOKEN=... WEFT_TEST_SPIFFE_ID=...
//   WEFT_TEST_CONTROL_PLANE_ID=... [WEFT_TEST_TARGET=host:port WEFT_TEST_EXPECT_PEER=spiffe://...]
import { readFileSync } from "node:fs";
import * as tls from "node:tls";
import { silentLogger } from "../../lib/log.ts";
import { peerSpiffeId } from "../../sidecar/src/identity/credentials-peer.ts";
import { startProxyIdentity } from "../../sidecar/src/identity/bootstrap.ts";
import { staticToken } from "../../sidecar/src/identity/token.ts";

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const say = (event: Record<string, unknown>) => process.stdout.write(JSON.stringify(event) + "\n");

const spiffeId = env("WEFT_TEST_SPIFFE_ID");
const identity = await startProxyIdentity({
  address: env("WEFT_TEST_IDENTITY_ADDRESS"),
  trustAnchorsPem: readFileSync(env("WEFT_TEST_ANCHORS_FILE"), "utf8"),
  serverIdentity: env("WEFT_TEST_CONTROL_PLANE_ID"),
  token: staticToken(env("WEFT_TEST_TOKEN")),
  spiffeId,
  logger: silentLogger(),
});
const store = identity.store;
store.on("change", (c) => say({ event: "certificate", notAfter: c.notAfter.toISOString() }));

if (env("WEFT_TEST_ROLE") === "server") {
  const server = tls.createServer(store.serverOptions(), (socket) => {
    const peer = peerSpiffeId(socket);
    const serial = socket.getX509Certificate()?.serialNumber;
    say({ event: "accepted", peer: peer.ok ? peer.value.uri : `error: ${peer.message}` });
    socket.write(JSON.stringify({ server: spiffeId, sawPeer: peer.ok ? peer.value.uri : null, serial }) + "\n");
    socket.on("data", (d) => socket.write(d)); // echo, for long-lived connection checks
    socket.on("error", () => undefined);
  });
  store.attachServer(server);
  server.listen(0, "127.0.0.1", () => say({ event: "listening", port: (server.address() as { port: number }).port }));
} else {
  const [host = "127.0.0.1", port = "0"] = env("WEFT_TEST_TARGET").split(":");
  const socket = tls.connect({ host, port: Number(port), ...store.clientOptions(process.env.WEFT_TEST_EXPECT_PEER) });
  socket.on("secureConnect", () => {
    const peer = peerSpiffeId(socket);
    socket.once("data", (d) => {
      say({ event: "connected", peer: peer.ok ? peer.value.uri : `error: ${peer.message}`, reply: JSON.parse(d.toString()) });
      socket.end();
      identity.stop();
    });
  });
  socket.on("error", (err) => {
    say({ event: "error", message: err.message });
    process.exitCode = 1;
    identity.stop();
  });
}
