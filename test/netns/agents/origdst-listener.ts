// Stands in for the proxy's capture listener in netns tests: for every
// connection it writes one JSON line with the original destination it
// recovered (or the failure) and the peer, then closes.
// usage: node origdst-listener.ts --port N [--host ADDR] [--name NAME]
import net from "node:net";
import { parseArgs } from "node:util";
import { getOriginalDestination } from "../../../sidecar/src/capture/original-dst.ts";

const { values } = parseArgs({ options: { port: { type: "string" }, host: { type: "string" }, name: { type: "string" } } });
const server = net.createServer((socket) => {
  const dst = getOriginalDestination(socket);
  socket.end(JSON.stringify({ who: values.name ?? "listener", dst, peer: socket.remoteAddress, uid: process.getuid?.() }) + "\n");
});
server.listen(Number(values.port ?? 0), values.host ?? "0.0.0.0", () => {
  const addr = server.address();
  console.log(`listening ${typeof addr === "object" && addr ? addr.port : ""}`);
});
