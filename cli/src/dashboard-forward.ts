// `weft dashboard`'s local end: an HTTP proxy on loopback that carries each
// request over its own tunnel to the dashboard's pod and ends the tunnel with
// the response.
//
// Why not relay TCP connections, as kubectl port-forward does: a tunnel over
// pods/portforward does not report the pod's side closing. The dashboard closes
// idle keep-alive connections after 5 s, and the browser, which still sees its
// local connection open, reuses it for the next request and waits forever for an
// answer. Tunnelling per request and reading HTTP's own framing to know when the
// answer is complete leaves nothing to go stale; the browser keeps its keep-alive
// connections to this process, which closes them itself.
import * as http from "node:http";
import type { Duplex } from "node:stream";

/** Opens a fresh byte stream to the dashboard's HTTP port; destroying it ends the tunnel. */
export type Dial = () => Promise<Duplex>;

// RFC 9110 §7.6.1: meaningful for one connection only, never forwarded.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

/** A message's headers without the hop-by-hop ones (and those its Connection header names). Pure. */
export function endToEndHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const named = new Set(String(headers.connection ?? "").split(",").map((h) => h.trim().toLowerCase()).filter(Boolean));
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !named.has(name)) out[name] = value;
  }
  return out;
}

export interface ForwarderOptions {
  dial: Dial;
  /** Called once per request that could not be carried (the tunnel failed). */
  onError?: (err: Error) => void;
}

/** The proxy's request handler (served by http.createServer in startForwarder). */
export function forwardingHandler(options: ForwarderOptions): http.RequestListener {
  return (req, res) => {
    let tunnel: Duplex | undefined;
    let done = false;
    const finish = (): void => {
      done = true;
      tunnel?.destroy();
    };
    // The browser went away (a closed tab, an ended event stream) or the answer is complete.
    res.on("close", finish);
    const fail = (err: Error): void => {
      options.onError?.(err);
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "text/plain; charset=utf-8" }).end(`weft dashboard: no answer from the dashboard's pod: ${err.message}\n`);
      } else {
        res.destroy(err);
      }
    };
    options.dial().then((stream) => {
      tunnel = stream;
      if (done) {
        stream.destroy();
        return;
      }
      const upstream = http.request({
        method: req.method ?? "GET",
        path: req.url ?? "/",
        headers: { ...endToEndHeaders(req.headers), connection: "close" },
        createConnection: () => stream,
      });
      upstream.on("response", (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage ?? "", endToEndHeaders(answer.headers));
        answer.pipe(res);
        answer.on("error", (err) => res.destroy(err));
      });
      upstream.on("error", (err) => {
        if (!done) fail(err);
      });
      req.pipe(upstream);
    }, (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))));
  };
}

export async function startForwarder(options: ForwarderOptions & { address: string; port: number }): Promise<http.Server> {
  const server = http.createServer(forwardingHandler(options));
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(options.port, options.address, resolve));
  return server;
}
