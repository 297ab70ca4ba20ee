// Clients for the protocol-fidelity netns tests; each prints one JSON line.
//   half-close HOST PORT TEXT   writes TEXT (\r\n escapes allowed), shuts down its write
//                               side, and reads until the connection closes
//   echo HOST PORT MB           sends MB MiB of bytes no detector takes for HTTP or TLS,
//                               half-closes, and counts what comes back
//   trailers URL                POSTs a chunked body with a trailer
//   expect URL accept|refuse    POSTs 1 MiB behind Expect: 100-continue
//   close URL                   GETs on a keep-alive agent and reports whether the socket closed
// usage: node fidelity-client.ts MODE ARGS...
import http from "node:http";
import net from "node:net";

const [mode = "", ...args] = process.argv.slice(2);
const print = (value: unknown) => console.log(JSON.stringify(value));
const deadline = setTimeout(() => { print({ error: "timeout" }); process.exit(0); }, 30_000);
const done = (value: unknown) => { clearTimeout(deadline); print(value); };

function halfClose(host: string, port: number, payload: Buffer, keep: boolean): void {
  const socket = net.connect({ host, port, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  let received = 0;
  let ended = false;
  socket.on("data", (c: Buffer) => { received += c.length; if (keep) chunks.push(c); });
  socket.on("end", () => { ended = true; socket.end(); });
  socket.on("error", (err) => done({ error: err.message, received }));
  socket.on("close", () => done({ received, ended, ...(keep ? { text: Buffer.concat(chunks).toString("latin1") } : {}) }));
  socket.end(payload);
}

switch (mode) {
  case "half-close": {
    const [host = "", port = "0", text = ""] = args;
    halfClose(host, Number(port), Buffer.from(text.replaceAll("\\r\\n", "\r\n"), "latin1"), true);
    break;
  }
  case "echo": {
    const [host = "", port = "0", mb = "1"] = args;
    const payload = Buffer.alloc(Number(mb) * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 3) & 0x7f;
    payload[0] = 0x00;
    halfClose(host, Number(port), payload, false);
    break;
  }
  case "trailers": {
    const req = http.request(args[0] ?? "", { method: "POST", headers: { te: "trailers", trailer: "x-checksum" } }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => { body += d; });
      res.on("end", () => done({ status: res.statusCode, body: JSON.parse(body) as unknown }));
    });
    req.on("error", (err) => done({ error: err.message }));
    req.write("part one,");
    req.write("part two");
    req.addTrailers({ "x-checksum": "c0ffee" });
    req.end();
    break;
  }
  case "expect": {
    let continued = false;
    const req = http.request(args[0] ?? "", {
      method: "POST",
      headers: { expect: "100-continue", "content-length": String(1024 * 1024), ...(args[1] === "refuse" ? { "x-refuse": "1" } : {}) },
    }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => { body += d; });
      res.on("end", () => done({ status: res.statusCode, continued, body }));
    });
    req.on("continue", () => { continued = true; req.end(Buffer.alloc(1024 * 1024, 0x62)); });
    req.on("error", (err) => done({ error: err.message, continued }));
    break;
  }
  case "close": {
    const agent = new http.Agent({ keepAlive: true });
    http.get(args[0] ?? "", { agent }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => { body += d; });
      res.on("end", () => {
        const socket = res.socket;
        const report = () => done({ status: res.statusCode, connection: res.headers.connection ?? null, body, socketClosed: socket.destroyed });
        if (socket.destroyed) report();
        else socket.once("close", report);
      });
    }).on("error", (err) => done({ error: err.message }));
    break;
  }
  default:
    done({ error: `unknown mode ${mode}` });
}
