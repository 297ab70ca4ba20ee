// A client of a server-speaks-first protocol: waits for the banner before
// sending anything, then sends one line and QUIT, and prints the transcript.
// usage: node banner-chat.ts HOST PORT
import net from "node:net";

const [host = "", port = "0"] = process.argv.slice(2);
let transcript = "";
let step = 0;
const socket = net.connect({ host, port: Number(port) });
socket.setTimeout(15_000, () => socket.destroy(new Error("timeout")));
socket.setEncoding("utf8").on("data", (d: string) => {
  transcript += d;
  if (step === 0 && transcript.includes("\r\n")) { step = 1; socket.write("HELO mesh\r\n"); }
  else if (step === 1 && transcript.includes("250")) { step = 2; socket.write("QUIT\r\n"); }
});
socket.on("close", () => console.log(JSON.stringify({ transcript })));
socket.on("error", (e) => { console.log(JSON.stringify({ error: e.message, transcript })); process.exit(0); });
