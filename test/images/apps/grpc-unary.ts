// gRPC client app for e2e pods: `node test/images/apps/grpc-unary.ts <host:port>`
// makes one unary call to the grpc-echo fixture (weft.test.Echo/Unary) in
// plaintext (the pod's proxy adds mTLS) and prints one JSON line: the status
// code and details, so a test sees what the mesh decided.
import * as grpc from "@grpc/grpc-js";
import { EchoClient } from "../../fixtures/apps/grpc-echo.ts";

const target = process.argv[2];
if (target === undefined) {
  console.error("usage: grpc-unary.ts <host:port>");
  process.exit(2);
}
const client = new EchoClient(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
  unary(request: Buffer, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, reply?: Buffer) => void): void;
};
client.unary(Buffer.from("ping"), { deadline: Date.now() + 5000 }, (err, reply) => {
  console.log(JSON.stringify(err ? { code: err.code, details: err.details } : { code: 0, reply: reply?.toString() }));
  client.close();
});
