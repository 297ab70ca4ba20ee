// Demo backend over gRPC: the price of a SKU.
import * as grpc from "@grpc/grpc-js";
import { demoAppArgs, exitOnSignals } from "./demo-app-args.ts";
import { PRICES_SERVICE, type PriceReply, type PriceRequest } from "./demo-grpc.ts";

const args = demoAppArgs();
const server = new grpc.Server();
server.addService(PRICES_SERVICE, {
  get: (call: grpc.ServerUnaryCall<PriceRequest, PriceReply>, done: grpc.sendUnaryData<PriceReply>) => {
    const sku = String(call.request.sku ?? "");
    done(null, { sku, cents: 100 + (sku.length * 37) % 900 });
  },
});
server.bindAsync(`127.0.0.1:${args.port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(`prices: cannot listen on 127.0.0.1:${args.port}: ${err.message}`);
    process.exit(1);
  }
});
exitOnSignals(() => server.forceShutdown());
