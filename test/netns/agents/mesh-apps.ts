// The unmodified apps behind the mesh in netns tests, one process, one port
// each: HTTP/1.1 echo (with WebSocket echo on the same port), HTTP/2 echo
// (cleartext), a gRPC streaming echo (grpc-js), a server-speaks-first banner,
// and a flaky HTTP/1.1 server that fails a fraction of requests.
// Unlike test/fixtures/apps (one app per process, loopback by default), every
// answer here names the server (--name), which the balancing and ejection
// tests need to tell the pods apart, and one process serves a whole pod.
// usage: node mesh-apps.ts --name N [--http1 P] [--h2 P] [--grpc P] [--banner P] [--flaky P --fail-ratio 0.3]
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { WebSocketServer } from "ws";

const { values } = parseArgs({
  options: {
    name: { type: "string", default: "app" },
    http1: { type: "string" },
    h2: { type: "string" },
    grpc: { type: "string" },
    banner: { type: "string" },
    flaky: { type: "string" },
    "fail-ratio": { type: "string", default: "0.3" },
  },
});
const name = values.name ?? "app";
const waits: Promise<void>[] = [];
const listen = (server: net.Server | http2.Http2Server, port: string) =>
  waits.push(new Promise<void>((resolve) => server.listen(Number(port), "0.0.0.0", () => resolve())));

function echoBody(req: http.IncomingMessage | http2.Http2ServerRequest, body: string) {
  return JSON.stringify({ who: name, method: req.method, path: req.url, httpVersion: req.httpVersion, headers: req.headers, body });
}

if (values.http1) {
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => { body += d; });
    req.on("end", () => { res.setHeader("content-type", "application/json"); res.end(echoBody(req, body)); });
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(isBinary ? data : `${name}:${String(data)}`)));
  listen(server, values.http1);
}
if (values.h2) {
  const server = http2.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => { body += d; });
    req.on("end", () => { res.setHeader("content-type", "application/json"); res.end(echoBody(req, body)); });
  });
  listen(server, values.h2);
}
if (values.banner) {
  const server = net.createServer((socket) => {
    socket.write(`220 ${name} ready\r\n`);
    socket.setEncoding("utf8").on("data", (d: string) => {
      if (d.trim() === "QUIT") socket.end("221 bye\r\n");
      else socket.write(`250 ${d.trim()}\r\n`);
    });
    socket.on("error", () => {});
  });
  listen(server, values.banner);
}
if (values.flaky) {
  const ratio = Number(values["fail-ratio"]);
  let n = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    // Deterministic: a fixed share of requests fail, spread evenly.
    n++;
    const fail = Math.floor(n * ratio) !== Math.floor((n - 1) * ratio);
    res.statusCode = fail ? 503 : 200;
    res.end(fail ? "unavailable" : `${name} ok`);
  });
  listen(server, values.flaky);
}
if (values.grpc) {
  const proto = protoLoader.loadSync(fileURLToPath(new URL("./echo.proto", import.meta.url)), { keepCase: true });
  const pkg = grpc.loadPackageDefinition(proto) as unknown as { weft: { test: { Echo: grpc.ServiceClientConstructor } } };
  const server = new grpc.Server();
  server.addService(pkg.weft.test.Echo.service, {
    Chat(call: grpc.ServerDuplexStream<{ text: string; seq: number }, { text: string; seq: number }>) {
      call.on("data", (note) => call.write({ text: `${name}:${note.text.toUpperCase()}`, seq: note.seq }));
      call.on("end", () => call.end());
    },
  });
  waits.push(new Promise<void>((resolve, reject) => server.bindAsync(`0.0.0.0:${values.grpc}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()))));
}
await Promise.all(waits);
console.log("listening");
