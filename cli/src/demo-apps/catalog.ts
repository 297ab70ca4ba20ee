// Demo backend over HTTP: a product listing. Its failure injection is driven by
// the demo through POST /_demo/fail?rate=0.3 (rate=0 recovers): while set,
// that share of requests answers 503, which the calling proxy retries.
import * as http from "node:http";
import { demoAppArgs, exitOnSignals } from "./demo-app-args.ts";

const args = demoAppArgs();
let failRate = 0;
const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://catalog");
  if (req.method === "POST" && url.pathname === "/_demo/fail") {
    const rate = Number(url.searchParams.get("rate") ?? "0");
    failRate = Number.isFinite(rate) ? Math.min(1, Math.max(0, rate)) : 0;
    res.end(`fail rate ${failRate}\n`);
    return;
  }
  if (Math.random() < failRate) {
    res.writeHead(503, { "content-type": "text/plain" });
    res.end("injected failure\n");
    return;
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ items: ["tea", "kettle", "cup"], caller: req.headers["weft-client-id"] ?? null }));
});
server.on("error", (err) => {
  console.error(`catalog: cannot listen on 127.0.0.1:${args.port}: ${err.message}`);
  process.exit(1);
});
server.listen(Number(args.port), "127.0.0.1");
exitOnSignals(() => server.close());
