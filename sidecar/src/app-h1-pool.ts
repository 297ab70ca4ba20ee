// HTTP/1.1 to the app on localhost without node:http: a small pool of
// keep-alive connections per app port, request heads written in one piece,
// responses cut with the framer and relayed as slices of what was read.
import * as net from "node:net";
import type * as http2 from "node:http2";
import type { Downstream } from "./downstream.ts";
import { BodyReader, headerLines, parseResponseHead, type Framing } from "./http1-framer.ts";
import { responseHeaders } from "./http-headers.ts";
import type { RelayResult } from "./relay-response.ts";

/** Request headers never copied onto the app hop (the pool sets its own framing and Host). */
const SKIP_REQUEST = new Set(["host", "connection", "keep-alive", "transfer-encoding", "upgrade", "te", "proxy-connection", "http2-settings", "expect"]);
const MAX_HEAD_BYTES = 64 * 1024;
/** Idle connections kept per app port beyond which a finished one is closed. */
const MAX_IDLE = 64;
const IDLE_MS = 60_000;

interface Exchange {
  method: string;
  ds: Downstream;
  done: (result: RelayResult) => void;
  head: Buffer | undefined;
  body: BodyReader | undefined;
  status: number;
  responseBytes: number;
  requestSent: boolean;
  finished: boolean;
}

/** One connection to the app; carries one exchange at a time. */
class AppConnection {
  readonly socket: net.Socket;
  exchange: Exchange | undefined;
  reusable = false;
  readonly #release: (conn: AppConnection) => void;

  constructor(host: string, port: number, release: (conn: AppConnection) => void) {
    this.#release = release;
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    this.socket.on("error", () => {});
    this.socket.on("close", () => this.#onClose());
    this.socket.setTimeout(IDLE_MS, () => {
      if (!this.exchange) this.socket.destroy();
    });
  }

  #onData(chunk: Buffer): void {
    const ex = this.exchange;
    if (!ex || ex.finished) {
      // Bytes nobody asked for: the connection can no longer be trusted to frame.
      this.socket.destroy();
      return;
    }
    if (!ex.body) {
      const buf: Buffer = ex.head ? Buffer.concat([ex.head, chunk]) : chunk;
      const parsed = parseResponseHead(buf, MAX_HEAD_BYTES, ex.method);
      if (parsed.kind === "incomplete") {
        ex.head = buf;
        return;
      }
      ex.head = undefined;
      if (parsed.kind === "error") {
        this.#fail(ex, "app-unavailable");
        return;
      }
      const head = parsed.head;
      const rest = buf.subarray(parsed.consumed);
      if (head.status < 200) {
        // 1xx interim responses are not relayed (the peer proxy already answered Expect).
        if (rest.length > 0) this.#onData(rest);
        return;
      }
      ex.status = head.status;
      this.reusable = head.keepAlive;
      ex.body = new BodyReader(head.framing);
      ex.ds.respond(head.status, responseHeaders(head.headers), head.framing.kind === "none");
      if (head.framing.kind === "none") {
        this.#complete(ex, undefined, rest.length === 0, false);
        return;
      }
      if (rest.length > 0) this.#body(ex, rest);
      return;
    }
    this.#body(ex, chunk);
  }

  #body(ex: Exchange, chunk: Buffer): void {
    const reader = ex.body as BodyReader;
    const sink = ex.ds.sink;
    let blocked = false;
    const step = reader.push(chunk, (data) => {
      ex.responseBytes += data.length;
      if (!sink.write(data)) blocked = true;
    });
    if (step.error) {
      ex.finished = true;
      this.socket.destroy();
      ex.ds.abort();
      ex.done({ status: ex.status, error: "app-reset", responseBytes: ex.responseBytes });
      return;
    }
    if (step.done) {
      this.#complete(ex, step.trailers, step.consumed === chunk.length, true);
      return;
    }
    if (blocked) {
      this.socket.pause();
      sink.once("drain", () => this.socket.resume());
    }
  }

  /** The response is complete; `endBody` when a body was relayed (a head-only response already ended the stream). */
  #complete(ex: Exchange, trailers: Record<string, string | string[] | undefined> | undefined, clean: boolean, endBody: boolean): void {
    ex.finished = true;
    if (endBody) ex.ds.finish(trailers ? responseHeaders(trailers) : undefined);
    ex.done({ status: ex.status, responseBytes: ex.responseBytes });
    this.exchange = undefined;
    if (clean && this.reusable && ex.requestSent && !this.socket.destroyed) this.#release(this);
    else this.socket.destroy();
  }

  #onClose(): void {
    const ex = this.exchange;
    this.exchange = undefined;
    if (!ex || ex.finished) return;
    if (ex.body && ex.body.end().done) {
      this.#complete(ex, undefined, false, true);
      return;
    }
    this.#fail(ex, "app-unavailable");
  }

  #fail(ex: Exchange, code: string): void {
    ex.finished = true;
    this.exchange = undefined;
    this.socket.destroy();
    ex.done(appError(ex.ds, code, ex.responseBytes));
  }
}

export class AppH1Pool {
  readonly #host: string;
  readonly #idle = new Map<number, AppConnection[]>();
  readonly #all = new Set<AppConnection>();

  constructor(host: string) {
    this.#host = host;
  }

  #connection(port: number): AppConnection {
    const idle = this.#idle.get(port);
    while (idle && idle.length > 0) {
      const conn = idle.pop() as AppConnection;
      if (!conn.socket.destroyed) return conn;
    }
    const conn = new AppConnection(this.#host, port, (c) => this.#release(port, c));
    this.#all.add(conn);
    conn.socket.once("close", () => {
      this.#all.delete(conn);
      const list = this.#idle.get(port);
      const i = list ? list.indexOf(conn) : -1;
      if (list && i >= 0) list.splice(i, 1);
    });
    return conn;
  }

  #release(port: number, conn: AppConnection): void {
    let list = this.#idle.get(port);
    if (!list) {
      list = [];
      this.#idle.set(port, list);
    }
    if (list.length >= MAX_IDLE) conn.socket.destroy();
    else list.push(conn);
  }

  /** `headers` are HTTP/2 request headers (pseudo-headers included) with Weft's own already replaced. */
  forward(port: number, headers: http2.OutgoingHttpHeaders, ds: Downstream, done: (result: RelayResult) => void): void {
    const lines = headerLines(headers, SKIP_REQUEST);
    if (lines === undefined) {
      done(appError(ds, "app-unavailable", 0));
      return;
    }
    const method = String(headers[":method"] ?? "GET");
    let framing: Framing = { kind: "none" };
    let head = `${method} ${String(headers[":path"] ?? "/")} HTTP/1.1\r\nhost: ${String(headers[":authority"] ?? "")}\r\n${lines}`;
    if (ds.hasBody) {
      if (headers["content-length"] === undefined) {
        framing = { kind: "chunked" };
        head += "transfer-encoding: chunked\r\n";
      } else {
        framing = { kind: "length", length: Number(headers["content-length"]) };
      }
    }
    const conn = this.#connection(port);
    const ex: Exchange = { method, ds, done, head: undefined, body: undefined, status: 0, responseBytes: 0, requestSent: false, finished: false };
    conn.exchange = ex;
    conn.reusable = false;
    const socket = conn.socket;
    socket.write(`${head}\r\n`, "latin1");
    ds.onAbort(() => {
      if (!ex.finished) {
        ex.finished = true;
        socket.destroy();
      }
    });
    if (framing.kind === "none") {
      ex.requestSent = true;
      return;
    }
    sendBody(ds, socket, framing.kind === "chunked", () => {
      ex.requestSent = true;
    });
  }

  close(): void {
    for (const conn of this.#all) conn.socket.destroy();
    this.#all.clear();
    this.#idle.clear();
  }
}

/** Streams the downstream's request body to the app socket, chunk-encoding it when asked. */
function sendBody(ds: Downstream, socket: net.Socket, chunked: boolean, sent: () => void): void {
  const body = ds.body;
  body.on("data", (chunk: Buffer) => {
    if (socket.destroyed || chunk.length === 0) return;
    const ok = chunked ? socket.write(`${chunk.length.toString(16)}\r\n`) && socket.write(chunk) && socket.write("\r\n") : socket.write(chunk);
    if (!ok) {
      body.pause();
      socket.once("drain", () => body.resume());
    }
  });
  body.on("end", () => {
    if (chunked && !socket.destroyed) socket.write("0\r\n\r\n");
    sent();
  });
  body.resume();
}

function appError(ds: Downstream, code: string, responseBytes: number): RelayResult {
  if (ds.responded) {
    ds.abort();
    return { status: 502, error: "app-reset", responseBytes };
  }
  ds.respond(502, { "weft-error": code, "content-length": "0" }, true);
  return { status: 502, error: code };
}
