// The last hop inbound: a request goes to the app on localhost in the
// protocol the app speaks (HTTP/1.1 over pooled keep-alive connections framed
// by Weft itself, or HTTP/2 over one session), translated where the original
// client spoke the other one. gRPC goes as HTTP/2 (it cannot be carried
// otherwise); any other request goes in what the app port answered to a
// one-time probe (app-protocol-probe.ts), so an HTTP/1.1 client reaches an
// app that speaks only HTTP/2 (h2c) and an HTTP/2 client one that speaks only
// HTTP/1.1. Upgrades and CONNECT never get here: they are relayed as tunnels.
import * as http2 from "node:http2";
import * as net from "node:net";
import { AppH1Pool } from "./app-pool-h1.ts";
import { probeAppProtocol, type AppProtocol } from "./app-protocol-probe.ts";
import type { Downstream } from "../http/downstream.ts";
import { h2RequestHeaders, sendRequestTrailers } from "../http/headers.ts";
import { isGrpcRequest, type OutgoingFields } from "../http/request.ts";
import { relayResponse, type RelayResult } from "../http/relay-response.ts";

/** How long an app port may stay silent after the HTTP/2 preface before it is taken for HTTP/1.1. */
const PROBE_TIMEOUT_MS = 1_000;

export class AppForwarder {
  readonly #host: string;
  readonly #h1: AppH1Pool;
  readonly #sessions = new Map<number, http2.ClientHttp2Session>();
  /** What each app port answered to the probe. */
  readonly #speaks = new Map<number, AppProtocol>();
  /** Requests waiting for a port's probe to answer. */
  readonly #probing = new Map<number, ((protocol: AppProtocol | undefined) => void)[]>();

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

  /**
   * Sends the request `ds` with the fields `out` (the proxy's own field
   * included) to the app's `port`; `proto` is what the original client spoke.
   */
  forward(port: number, proto: "h1" | "h2", ds: Downstream, out: OutgoingFields, done: (result: RelayResult) => void): void {
    // The common case costs one map lookup: an HTTP/1.1 request to a port known to speak it.
    if (proto === "h1" && this.#speaks.get(port) === "h1") {
      this.#h1.forward(port, ds, out, done);
      return;
    }
    if (proto === "h2" && isGrpcRequest(ds.fields)) {
      this.#forwardH2(port, ds, out, done);
      return;
    }
    this.#appProtocol(port, (speaks) => {
      // An app that stopped answering may come back speaking the other protocol: ask again next time.
      const checked = (result: RelayResult): void => {
        if (result.error === "app-unavailable") this.#speaks.delete(port);
        done(result);
      };
      // Nothing could be told (the port refused the probe): the client's own protocol is the best guess.
      if ((speaks ?? proto) === "h1") this.#h1.forward(port, ds, out, checked);
      else this.#forwardH2(port, ds, out, checked);
    });
  }

  /** What the app's `port` speaks, probed once; undefined while nothing can be told. */
  #appProtocol(port: number, then: (protocol: AppProtocol | undefined) => void): void {
    const known = this.#speaks.get(port);
    if (known) {
      then(known);
      return;
    }
    const waiting = this.#probing.get(port);
    if (waiting) {
      waiting.push(then);
      return;
    }
    this.#probing.set(port, [then]);
    probeAppProtocol(this.#host, port, PROBE_TIMEOUT_MS, (protocol) => {
      if (protocol) this.#speaks.set(port, protocol);
      const callers = this.#probing.get(port) ?? [];
      this.#probing.delete(port);
      for (const caller of callers) caller(protocol);
    });
  }

  #forwardH2(port: number, ds: Downstream, out: OutgoingFields, done: (result: RelayResult) => void): void {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.#session(port).request(h2RequestHeaders(ds, out), { endStream: !ds.hasBody, waitForTrailers: ds.hasBody && ds.mayHaveTrailers });
      if (ds.hasBody && ds.mayHaveTrailers) stream.once("wantTrailers", () => sendRequestTrailers(stream, ds.trailers));
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
    if (ds.expectsContinue) stream.on("continue", () => ds.sendContinue());
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
