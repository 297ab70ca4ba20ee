// The apps behind the protocol-fidelity netns tests (issue 16's cases), one
// process for a pod:
//   --http1 P   HTTP/1.1: GET /close answers with Connection: close; POST
//               /trailers echoes the request's trailers; POST /expect answers
//               the client's Expect: 100-continue itself (417 when the request
//               has x-refuse, else 100 Continue and the body's size); GET
//               /stream?ms=M&chunks=N sends N 64 KiB chunks spread over M ms.
//   --echo P    TCP echo that ends its side only after the client ended its own.
//   --h2only P  HTTP/2 with prior knowledge only (no HTTP/1.1): the body's size and trailers.
// usage: node fidelity-apps.ts [--http1 P] [--echo P]... [--h2only P]
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { http1: { type: "string" }, echo: { type: "string", multiple: true }, h2only: { type: "string" } } });
const waits: Promise<void>[] = [];
const listen = (server: net.Server | http2.Http2Server, port: string) =>
  waits.push(new Promise<void>((resolve) => server.listen(Number(port), "0.0.0.0", () => resolve())));

function readBody(req: http.IncomingMessage): Promise<number> {
  return new Promise((resolve) => {
    let n = 0;
    req.on("data", (c: Buffer) => { n += c.length; });
    req.on("end", () => resolve(n));
  });
}

if (values.http1) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://app");
    if (url.pathname === "/close") {
      req.resume();
      res.setHeader("connection", "close");
      res.end("closing");
    } else if (url.pathname === "/trailers") {
      const bytes = await readBody(req);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ bytes, trailers: req.trailers }));
    } else if (url.pathname === "/stream") {
      const chunks = Number(url.searchParams.get("chunks") ?? "10");
      const every = Number(url.searchParams.get("ms") ?? "1000") / chunks;
      req.resume();
      res.writeHead(200, { "content-type": "application/octet-stream" });
      let sent = 0;
      const timer = setInterval(() => {
        res.write(Buffer.alloc(64 * 1024, 0x61));
        if (++sent === chunks) {
          clearInterval(timer);
          res.end();
        }
      }, every);
      res.on("close", () => clearInterval(timer));
    } else {
      const bytes = await readBody(req);
      res.end(JSON.stringify({ bytes }));
    }
  });
  // The app, not a proxy, decides whether the client may send its body.
  server.on("checkContinue", (req, res) => {
    if (req.headers["x-refuse"]) {
      res.writeHead(417, { connection: "close" });
      res.end("refused before the body");
      return;
    }
    res.writeContinue();
    void readBody(req).then((bytes) => res.end(JSON.stringify({ bytes })));
  });
  listen(server, values.http1);
}
for (const port of values.echo ?? []) {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    socket.on("error", () => {});
    socket.pipe(socket);
  });
  listen(server, port);
}
if (values.h2only) {
  const server = http2.createServer();
  server.on("stream", (stream) => {
    stream.on("error", () => {});
    let bytes = 0;
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on("data", (c: Buffer) => { bytes += c.length; });
    stream.on("trailers", (t: http2.IncomingHttpHeaders) => { trailers = t; });
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/json" });
      stream.end(JSON.stringify({ h2: true, bytes, trailers: { ...trailers } }));
    });
  });
  listen(server, values.h2only);
}
await Promise.all(waits);
console.log("listening");
