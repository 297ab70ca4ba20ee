// An unmodified grpc-js client: opens one bidirectional stream, sends N notes
// one at a time (each after the previous echo, GAP ms later), prints the echoes as JSON.
// usage: node grpc-chat.ts HOST:PORT N [GAP]
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const [target = "", count = "3", gap = "0"] = process.argv.slice(2);
const proto = protoLoader.loadSync(fileURLToPath(new URL("./echo.proto", import.meta.url)), { keepCase: true });
const pkg = grpc.loadPackageDefinition(proto) as unknown as { weft: { test: { Echo: grpc.ServiceClientConstructor } } };
const client = new pkg.weft.test.Echo(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
  Chat(): grpc.ClientDuplexStream<{ text: string; seq: number }, { text: string; seq: number }>;
};
const call = client.Chat();
const got: { text: string; seq: number }[] = [];
let sent = 0;
const send = () => call.write({ text: `note ${sent}`, seq: sent++ });
call.on("data", (note: { text: string; seq: number }) => {
  got.push(note);
  if (sent < Number(count)) setTimeout(send, Number(gap));
  else call.end();
});
call.on("error", (err: Error) => { console.log(JSON.stringify({ error: err.message, got })); process.exit(0); });
call.on("end", () => { console.log(JSON.stringify({ got })); client.close(); });
send();
