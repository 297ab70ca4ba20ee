// The client side of one HTTP/1.1 request read by the framer (not by
// node:http): the response head is written as one string, the body as the
// upstream's own buffers (chunk-encoded only when no length is known), and the
// head and first body bytes leave in one write.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import { Readable, Writable } from "node:stream";
import { writeToSink, type Downstream } from "../http/downstream.ts";
import { headerLines, reasonPhrase, type RequestHead } from "./framer.ts";
import { WEFT_CONNECTION } from "../http/headers.ts";

const SKIP_RESPONSE = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "http2-settings"]);
/** To a client (not a peer proxy) the app's Connection: close is said as itself. */
const SKIP_CLIENT_RESPONSE = new Set([...SKIP_RESPONSE, WEFT_CONNECTION]);

/** What the connection does for its current request; the downstream calls back into it. */
export interface FramedConnectionHooks {
  readonly socket: Socket;
  /** Let the request body flow again (the consumer read what it had). */
  resumeBody(): void;
  /** The response is complete (`keepOpen`: the connection may carry another request). */
  responseDone(keepOpen: boolean): void;
  isDraining(): boolean;
  /** The client is a peer proxy: the app's weft-connection goes on to it unchanged. */
  readonly peerHop?: boolean;
}

export class FramedH1Downstream implements Downstream {
  readonly proto = "h1";
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly fields: readonly string[];
  /** The framer refused every name and value an HTTP/1.1 wire cannot carry. */
  readonly fieldsChecked = true;
  readonly hasBody: boolean;
  readonly expectsContinue: boolean;
  readonly mayHaveTrailers: boolean;
  #trailers: IncomingHttpHeaders | undefined;
  readonly #conn: FramedConnectionHooks;
  readonly #keepAlive: boolean;
  #body: Readable | undefined;
  #sink: Writable | undefined;
  #head: string | undefined;
  #responded = false;
  #chunked = false;
  #noBody = false;
  #closeAfter = false;
  #corked = false;
  #complete = false;
  #abortListeners: (() => void)[] = [];
  #pendingFinish: { trailers: OutgoingHttpHeaders | undefined } | undefined;

  constructor(head: RequestHead, conn: FramedConnectionHooks) {
    this.method = head.method;
    this.path = head.target;
    this.authority = head.authority;
    this.fields = head.fields;
    this.hasBody = head.framing.kind !== "none";
    this.expectsContinue = head.expectContinue;
    this.mayHaveTrailers = head.framing.kind === "chunked";
    this.#keepAlive = head.keepAlive;
    this.#conn = conn;
  }

  /** Created on first use: most requests have no body. */
  get body(): Readable {
    this.#body ??= new Readable({ read: () => this.#conn.resumeBody() });
    return this.#body;
  }

  /** Request body data from the connection; false asks it to stop reading. */
  pushBody(chunk: Buffer): boolean {
    return this.body.push(chunk);
  }

  /** The body is complete; `trailers` are what its last chunk carried. */
  endBody(trailers?: IncomingHttpHeaders): void {
    this.#trailers = trailers;
    if (this.hasBody) this.body.push(null);
  }

  get trailers(): IncomingHttpHeaders | undefined {
    return this.#trailers;
  }

  get sink(): Writable {
    this.#sink ??= new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (this.#writeBody(chunk)) this.#written(cb);
        else this.#conn.socket.once("drain", () => this.#written(cb));
      },
    });
    return this.#sink;
  }

  /** Straight to the socket, unless body chunks are queued in the sink (they go first, so this queues behind them). */
  writeBody(chunk: Buffer, onDrain: () => void): boolean {
    const sink = this.#sink;
    if (sink && sink.writableLength > 0) return writeToSink(sink, chunk, onDrain);
    if (this.#writeBody(chunk)) return true;
    this.#conn.socket.once("drain", onDrain);
    return false;
  }

  get responded(): boolean {
    return this.#responded;
  }

  sendContinue(): void {
    if (this.#responded || this.#complete || this.#conn.socket.destroyed) return;
    this.#conn.socket.write("HTTP/1.1 100 Continue\r\n\r\n", "latin1");
  }

  respond(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void {
    if (this.#responded || this.#complete) return;
    const appClose = headers[WEFT_CONNECTION] !== undefined && this.#conn.peerHop !== true;
    const lines = headerLines(headers, appClose ? SKIP_CLIENT_RESPONSE : SKIP_RESPONSE);
    if (lines === undefined) {
      // A header the HTTP/1.1 side cannot carry: fail this response, not the process.
      this.abort();
      return;
    }
    this.#responded = true;
    this.#noBody = this.method === "HEAD" || status < 200 || status === 204 || status === 304;
    let head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n${lines}`;
    if (!this.#noBody && headers["content-length"] === undefined) {
      if (endStream) head += "content-length: 0\r\n";
      else {
        this.#chunked = true;
        head += "transfer-encoding: chunked\r\n";
      }
    }
    this.#closeAfter = !this.#keepAlive || this.#conn.isDraining() || appClose;
    if (this.#closeAfter) head += "connection: close\r\n";
    this.#head = `${head}\r\n`;
    if (endStream) this.#done();
  }

  /** Head and body leave together: writes in one tick are corked into one syscall. */
  #write(data: string | Buffer): boolean {
    const socket = this.#conn.socket;
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    if (this.#head !== undefined) {
      socket.write(this.#head, "latin1");
      this.#head = undefined;
    }
    return typeof data === "string" ? (data.length === 0 ? true : socket.write(data, "latin1")) : socket.write(data);
  }

  #writeBody(chunk: Buffer): boolean {
    if (this.#complete || this.#conn.socket.destroyed) return true;
    if (this.#noBody || chunk.length === 0) return true;
    if (!this.#chunked) return this.#write(chunk);
    this.#write(`${chunk.length.toString(16)}\r\n`);
    this.#write(chunk);
    return this.#write("\r\n");
  }

  /** A body write completed; a finish() that waited for the sink to empty runs once it has. */
  #written(cb: () => void): void {
    cb();
    if (this.#pendingFinish) {
      process.nextTick(() => {
        const trailers = this.#pendingFinish;
        if (trailers && (this.#sink?.writableLength ?? 0) === 0) {
          this.#pendingFinish = undefined;
          this.finish(trailers.trailers);
        }
      });
    }
  }

  finish(trailers: OutgoingHttpHeaders | undefined): void {
    if (this.#complete) return;
    if ((this.#sink?.writableLength ?? 0) > 0) {
      // Body chunks still queued behind backpressure go first.
      this.#pendingFinish = { trailers };
      return;
    }
    if (!this.#responded) this.respond(200, {}, false);
    if (this.#chunked) {
      // Trailers the client cannot take are dropped; the body is still complete.
      const lines = trailers ? (headerLines(trailers, SKIP_RESPONSE) ?? "") : "";
      this.#write(`0\r\n${lines}\r\n`);
    }
    // A sink still holding data finishes after it (pipe with end: false leaves it open).
    this.#done();
  }

  #done(): void {
    if (this.#complete) return;
    this.#write("");
    this.#complete = true;
    this.#abortListeners = [];
    this.#conn.responseDone(!this.#closeAfter);
  }

  abort(): void {
    this.#conn.socket.destroy();
  }

  onAbort(listener: () => void): void {
    this.#abortListeners.push(listener);
  }

  /** The connection closed: listeners run if the response was not complete. */
  closed(): void {
    if (this.#complete) return;
    this.#complete = true;
    const listeners = this.#abortListeners;
    this.#abortListeners = [];
    for (const l of listeners) l();
    this.#body?.destroy();
  }
}
