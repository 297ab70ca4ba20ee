// The last hop inbound: a request that arrived from a peer proxy as an HTTP/2
// stream goes to the app on localhost in the protocol the original client
// spoke (HTTP/1.1 over pooled keep-alive connections framed by Weft itself,
// or HTTP/2 over one session).
import * as http2 from "node:http2";
import * as net from "node:net";
import { AppH1Pool } from "./app-pool-h1.ts";
import type { Downstream } from "../http/downstream.ts";
import { h2RequestHeaders } from "../http/headers.ts";
import type { OutgoingFields } from "../http/request.ts";
import { relayResponse, type RelayResult } from "../http/relay-response.ts";

export class AppForwarder {
  readonly #host: string;
  readonly #h1: AppH1Pool;
  readonly #sessions = new Map<number, http2.ClientHttp2Session>();

  constructor(host = "127.0.0.1") {
    this.#host = host;
    this.#h1 = new AppH1Pool(host);
  }

  #session(port: number): http2.ClientHttp2Session {
    const existing = this.#sessions.get(port);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const session = http2.connect(`http://${this.#host}:${port}`, {
      settings: { initialWindowSize: 1 << 20, enablePush: false },
      // A field the client repeated goes to the app repeated (h2RequestHeaders), not refused by node.
      strictSingleValueFields: false,
      // Nagle on this socket would hold the second write of a request for a delayed ACK (~40 ms).
      createConnection: () => net.connect({ host: this.#host, port, noDelay: true }),
    });
    session.on("error", () => {});
    session.on("connect", () => session.setLocalWindowSize(8 << 20));
    const forget = (): void => {
      if (this.#sessions.get(port) === session) this.#sessions.delete(port);
    };
    session.on("close", forget);
    session.on("goaway", forget);
    session.setTimeout(60_000, () => session.close());
    this.#sessions.set(port, session);
    return session;
  }

  /** Sends the request `ds` with the fields `out` (the proxy's own field included) to the app's `port`. */
  forward(port: number, proto: "h1" | "h2", ds: Downstream, out: OutgoingFields, done: (result: RelayResult) => void): void {
    if (proto === "h2") this.#forwardH2(port, ds, out, done);
    else this.#h1.forward(port, ds, out, done);
  }

  #forwardH2(port: number, ds: Downstream, out: OutgoingFields, done: (result: RelayResult) => void): void {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.#session(port).request(h2RequestHeaders(ds, out), { endStream: !ds.hasBody });
    } catch {
      done(appError(ds));
      return;
    }
    let requestBytes = 0;
    if (ds.hasBody) {
      ds.body.on("data", (chunk: Buffer) => {
        requestBytes += chunk.length;
      });
      ds.body.pipe(stream);
    }
    let responded = false;
    stream.on("error", () => {});
    stream.on("response", (h: http2.IncomingHttpHeaders, flags: number) => {
      responded = true;
      relayResponse(stream, h, (flags & 1) === 1, ds, (result) => done({ ...result, requestBytes }));
    });
    stream.on("close", () => {
      if (!responded) done(appError(ds));
    });
  }

  close(): void {
    this.#h1.close();
    for (const session of this.#sessions.values()) session.close();
    this.#sessions.clear();
  }
}

function appError(ds: Downstream): RelayResult {
  if (ds.responded) {
    ds.abort();
    return { status: 502, error: "app-reset" };
  }
  ds.respond(502, { "weft-error": "app-unavailable", "content-length": "0" }, true);
  return { status: 502, error: "app-unavailable" };
}
