// Demo frontend: each GET / calls the catalog (HTTP) and the prices service
// (gRPC) through its sidecar, at the addresses given by --catalog / --prices.
import * as grpc from "@grpc/grpc-js";
import * as http from "node:http";
import { demoAppArgs, exitOnSignals } from "./demo-app-args.ts";
import { PRICES_SERVICE, type PriceReply } from "./demo-grpc.ts";

const args = demoAppArgs({ catalog: { type: "string" }, prices: { type: "string" } });
const Prices = grpc.makeGenericClientConstructor(PRICES_SERVICE, "Prices");
const prices = new Prices(args.prices ?? "127.0.0.1:1", grpc.credentials.createInsecure());
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

function getPrice(sku: string): Promise<PriceReply> {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + 2_000);
    (prices as unknown as { get: (r: object, o: object, cb: (e: Error | null, v: PriceReply) => void) => void })
      .get({ sku }, { deadline }, (err, v) => (err ? reject(err) : resolve(v)));
  });
}

function getCatalog(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://${args.catalog ?? "127.0.0.1:1"}/items`, { agent, timeout: 2_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

const server = http.createServer((req, res) => {
  void (async () => {
    try {
      const [status, price] = await Promise.all([getCatalog(), getPrice("tea")]);
      res.writeHead(status === 200 ? 200 : 502, { "content-type": "application/json" });
      res.end(JSON.stringify({ catalog: status, price: price.cents }));
    } catch (err) {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`upstream failed: ${(err as Error).message}\n`);
    }
  })();
  req.resume();
});
server.on("error", (err) => {
  console.error(`frontend: cannot listen on 127.0.0.1:${args.port}: ${err.message}`);
  process.exit(1);
});
server.listen(Number(args.port), "127.0.0.1");
exitOnSignals(() => {
  server.close();
  prices.close();
});
