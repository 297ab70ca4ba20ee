// The prices service's gRPC method, defined in code with JSON messages so the
// demo needs no .proto: /demo.Prices/Get {sku} -> {sku, cents}.
import type { MethodDefinition } from "@grpc/grpc-js";

export interface PriceRequest { sku: string }
export interface PriceReply { sku: string; cents: number }

const json = <T>(): { serialize: (v: T) => Buffer; deserialize: (b: Buffer) => T } => ({
  serialize: (v) => Buffer.from(JSON.stringify(v)),
  deserialize: (b) => JSON.parse(b.toString("utf8")) as T,
});

const req = json<PriceRequest>();
const rep = json<PriceReply>();

export const PRICES_SERVICE = {
  get: {
    path: "/demo.Prices/Get",
    requestStream: false,
    responseStream: false,
    requestSerialize: req.serialize,
    requestDeserialize: req.deserialize,
    responseSerialize: rep.serialize,
    responseDeserialize: rep.deserialize,
  } satisfies MethodDefinition<PriceRequest, PriceReply>,
};
