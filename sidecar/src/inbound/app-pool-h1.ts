// HTTP/1.1 to the app on localhost without node:http: keep-alive connections
// per app port (http1/client-connection.ts), the response relayed to the
// downstream as slices of what was read.
import * as net from "node:net";
import { writeResponseBody, type Downstream } from "../http/downstream.ts";
import { H1ClientConnection, IdleConnections } from "../http1/client-connection.ts";
import { chunkedBody, requestHead } from "../http1/request-head.ts";
import { appResponseHeaders, responseHeaders } from "../http/headers.ts";
import type { OutgoingFields } from "../http/request.ts";
import type { RelayResult } from "../http/relay-response.ts";

const MAX_IDLE = 64;
const IDLE_MS = 60_000;

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

export class AppH1Pool {
  readonly #host: string;
  readonly #idle = new IdleConnections<number>(MAX_IDLE);
  readonly #all = new Set<H1ClientConnection>();

  constructor(host: string) {
    this.#host = host;
  }

  #connection(port: number): { conn: H1ClientConnection; reused: boolean } {
    const idle = this.#idle.take(port);
    if (idle) return { conn: idle, reused: true };
    const conn = new H1ClientConnection(net.connect({ host: this.#host, port, noDelay: true }), (c) => this.#idle.put(port, c), IDLE_MS);
    this.#all.add(conn);
    conn.socket.once("close", () => {
      this.#all.delete(conn);
      this.#idle.forget(port, conn);
    });
    return { conn, reused: false };
  }

  /** Sends the request `ds` with the fields `out` (the proxy's own field included) to the app's `port`. */
  forward(port: number, ds: Downstream, out: OutgoingFields, done: (result: RelayResult) => void, retried = false): void {
    const chunked = chunkedBody(ds, out);
    const head = requestHead(ds, out, chunked);
    if (head === undefined) {
      done(appError(ds, 0));
      return;
    }
    const { conn, reused } = this.#connection(port);
    const method = ds.method;
    let status = 0;
    let bodyExpected = false;
    let responseBytes = 0;
    let requestBytes = 0;
    let over = false;
    const resume = (): void => conn.resume();
    const end = (result: RelayResult): void => {
      if (over) return;
      over = true;
      done(result);
    };
    conn.begin(method, head, {
      head: (head) => {
        status = head.status;
        bodyExpected = head.framing.kind !== "none";
        ds.respond(head.status, appResponseHeaders(head.headers), head.framing.kind === "none");
        return true;
      },
      continued: () => ds.sendContinue(),
      data: (chunk) => {
        responseBytes += chunk.length;
        return writeResponseBody(ds, chunk, resume);
      },
      end: (trailers) => {
        if (bodyExpected) ds.finish(trailers ? responseHeaders(trailers) : undefined);
        end({ status, requestBytes, responseBytes });
      },
      fail: (headSeen) => {
        // A kept-alive connection the app closed just as the request went out: once more on a
        // fresh one, when nothing came back and a repeat is harmless (idempotent, no body).
        if (!headSeen && reused && !retried && !ds.hasBody && !ds.responded && IDEMPOTENT.has(method)) {
          over = true;
          this.forward(port, ds, out, done, true);
          return;
        }
        end(appError(ds, responseBytes));
      },
    }, ds.hasBody);
    ds.onAbort(() => {
      if (over) return;
      // An abandoned connection calls no handler, so the request is reported here (metrics, span end).
      conn.abandon();
      end({ status: 499, error: "client-gone", requestBytes, responseBytes });
    });
    if (!ds.hasBody) return;
    const body = ds.body;
    body.on("data", (chunk: Buffer) => {
      requestBytes += chunk.length;
      if (!conn.writeBody(chunk, chunked)) {
        body.pause();
        conn.socket.once("drain", () => body.resume());
      }
    });
    body.on("end", () => conn.endBody(chunked, ds.trailers));
    body.resume();
  }

  close(): void {
    for (const conn of this.#all) conn.socket.destroy();
    this.#all.clear();
    this.#idle.destroyAll();
  }
}

function appError(ds: Downstream, responseBytes: number): RelayResult {
  if (ds.responded) {
    ds.abort();
    return { status: 502, error: "app-reset", responseBytes };
  }
  ds.respond(502, { "weft-error": "app-unavailable", "content-length": "0" }, true);
  return { status: 502, error: "app-unavailable" };
}
