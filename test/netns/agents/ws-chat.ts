// An unmodified WebSocket client (ws): sends N messages, one after each echo, prints the echoes.
// usage: node ws-chat.ts ws://HOST:PORT/path N
import WebSocket from "ws";

const [url = "", count = "3"] = process.argv.slice(2);
const ws = new WebSocket(url);
const got: string[] = [];
let sent = 0;
ws.on("open", () => ws.send(`m${sent++}`));
ws.on("message", (data) => {
  got.push(String(data));
  if (sent < Number(count)) ws.send(`m${sent++}`);
  else ws.close();
});
ws.on("close", () => console.log(JSON.stringify({ got })));
ws.on("error", (err) => { console.log(JSON.stringify({ error: err.message, got })); process.exit(0); });
