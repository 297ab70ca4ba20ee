// Dials host:port and prints whatever arrives until the peer closes (or the
// error), as one JSON line; exits 0 either way so the test reads the outcome.
// usage: node tcp-probe.ts HOST PORT
import net from "node:net";

const [host, port] = process.argv.slice(2);
let data = "";
const socket = net.connect({ host: host ?? "127.0.0.1", port: Number(port) });
socket.setTimeout(10_000, () => socket.destroy(new Error("timeout")));
socket.setEncoding("utf8").on("data", (d: string) => { data += d; });
socket.on("close", () => console.log(JSON.stringify({ data })));
socket.on("error", (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(0); });
