// A server for netns tests that speaks first: every connection gets one JSON
// line naming the server and the port it was reached on, then is closed.
// usage: node banner-server.ts --name NAME --port N [--port M ...]
import net from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { name: { type: "string" }, port: { type: "string", multiple: true } } });
let ready = 0;
const ports = values.port ?? [];
for (const port of ports) {
  const server = net.createServer((socket) => {
    socket.end(JSON.stringify({ who: values.name ?? "server", port: socket.localPort, peer: socket.remoteAddress }) + "\n");
  });
  server.listen(Number(port), "0.0.0.0", () => {
    if (++ready === ports.length) console.log("listening");
  });
}
