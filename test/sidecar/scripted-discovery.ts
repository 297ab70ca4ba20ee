// A discovery server over mTLS that plays a script: it sends `snapshots` one
// at a time, each after the proxy answered the previous one (its Hello, then
// an ACK or NACK), and records the answers, so a test can see exactly what a
// real discovery client made of each snapshot.
import * as grpc from "@grpc/grpc-js";
import { loadProto } from "../../api/load.ts";
import type { ProtoGrpcType } from "../../api/gen/discovery.ts";
import type { ProxyMessage__Output } from "../../api/gen/weft/discovery/v1/ProxyMessage.ts";
import type { Snapshot } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import { testPki } from "./mesh-harness.ts";

const proto = loadProto<ProtoGrpcType>("discovery.proto").weft.discovery.v1;

export interface ScriptedDiscovery {
  port: number;
  /** Every ACK and NACK, in order (Hellos left out). */
  answers: ProxyMessage__Output[];
  stop: () => void;
}

export async function scriptedDiscovery(snapshots: Snapshot[]): Promise<ScriptedDiscovery> {
  const pki = await testPki();
  const answers: ProxyMessage__Output[] = [];
  const server = new grpc.Server();
  server.addService(proto.Discovery.service, {
    Stream: (call: grpc.ServerDuplexStream<ProxyMessage__Output, Snapshot>) => {
      let next = 0;
      call.on("data", (m: ProxyMessage__Output) => {
        if (!m.hello) answers.push(m);
        const s = snapshots[next++];
        if (s) call.write(s);
      });
      call.on("error", () => {});
    },
  });
  const credentials = grpc.ServerCredentials.createSsl(Buffer.from(pki.server.anchorsPem), [{ private_key: Buffer.from(pki.server.keyPem), cert_chain: Buffer.from(pki.server.certChainPem) }], true);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", credentials, (err, p) => (err ? reject(err) : resolve(p))));
  return { port, answers, stop: () => server.forceShutdown() };
}
