// The client end of one HTTP/1.1 keep-alive connection (to the app, or over
// mTLS to a peer proxy): one exchange at a time, the request head written in
// one piece, the response cut by the framer and handed out as slices of what
// was read. The connection returns itself to its pool only when both messages
// ended cleanly on their boundaries.
import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import { BodyReader } from "./body-reader.ts";
import { parseResponseHead, type ResponseHead } from "./framer.ts";
import { trailerLines } from "./request-head.ts";

const MAX_HEAD_BYTES = 64 * 1024;

export interface ResponseHandlers {
  /** The final response head (1xx go to continued or are skipped). Return false to abandon the exchange (the connection closes). */
  head(head: ResponseHead): boolean;
  /** A 100 Continue, for a request that sent Expect: 100-continue: the app wants the body. */
  continued?(): void;
  /** Body data; false pauses reading until resume(). */
  data(chunk: Buffer): boolean;
  end(trailers: IncomingHttpHeaders | undefined): void;
  /** The connection failed or the response could not be framed; `headSeen` says whether head() ran. */
  fail(headSeen: boolean): void;
}

interface Exchange {
  method: string;
  handlers: ResponseHandlers;
  buffered: Buffer | undefined;
  body: BodyReader | undefined;
  requestSent: boolean;
  finished: boolean;
}

export class H1ClientConnection {
  readonly socket: Socket;
  #ex: Exchange | undefined;
  #reusable = false;
  readonly #release: (conn: H1ClientConnection) => void;

  constructor(socket: Socket, release: (conn: H1ClientConnection) => void, idleMs: number) {
    this.socket = socket;
    this.#release = release;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", () => {});
    socket.on("close", (hadError: boolean) => this.#onClose(hadError));
    // The peer closed an idle connection: gone at once, so the pool never hands it out.
    socket.on("end", () => {
      if (!this.#ex) socket.destroy();
    });
    // on(), not setTimeout's callback (a once listener): the idle timeout must work after a busy period too.
    socket.on("timeout", () => {
      if (!this.#ex) socket.destroy();
    });
    socket.setTimeout(idleMs);
  }

  /** Starts an exchange: writes the request head (ending in the blank line). */
  begin(method: string, head: string, handlers: ResponseHandlers, hasBody: boolean): void {
    this.#ex = { method, handlers, buffered: undefined, body: undefined, requestSent: !hasBody, finished: false };
    this.#reusable = false;
    this.socket.write(head, "latin1");
  }

  /** Request body bytes, chunk-encoded when asked; false means wait for the socket's drain. */
  writeBody(chunk: Buffer, chunked: boolean): boolean {
    if (this.socket.destroyed || chunk.length === 0) return true;
    if (!chunked) return this.socket.write(chunk);
    this.socket.cork();
    this.socket.write(`${chunk.length.toString(16)}\r\n`, "latin1");
    this.socket.write(chunk);
    const ok = this.socket.write("\r\n", "latin1");
    this.socket.uncork();
    return ok;
  }

  /** Ends the request body; a chunked one carries `trailers` (those an HTTP/1.1 wire can take). */
  endBody(chunked: boolean, trailers?: IncomingHttpHeaders): void {
    if (chunked && !this.socket.destroyed) this.socket.write(trailers ? `0\r\n${trailerLines(trailers)}\r\n` : "0\r\n\r\n", "latin1");
    if (this.#ex) this.#ex.requestSent = true;
  }

  resume(): void {
    this.socket.resume();
  }

  /** Gives up on the exchange (the caller lost interest): the connection cannot be reused. */
  abandon(): void {
    if (this.#ex) this.#ex.finished = true;
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    const ex = this.#ex;
    if (!ex || ex.finished) {
      // Bytes nobody asked for: the connection can no longer be trusted to frame.
      this.socket.destroy();
      return;
    }
    if (ex.body) {
      this.#body(ex, chunk);
      return;
    }
    const buf: Buffer = ex.buffered ? Buffer.concat([ex.buffered, chunk]) : chunk;
    const parsed = parseResponseHead(buf, MAX_HEAD_BYTES, ex.method);
    if (parsed.kind === "incomplete") {
      ex.buffered = buf;
      return;
    }
    ex.buffered = undefined;
    if (parsed.kind === "error") {
      this.#fail(ex, false);
      return;
    }
    const rest = buf.subarray(parsed.consumed);
    if (parsed.head.status < 200) {
      // The app's 100 goes back to the client, which waits for it before sending its body; other interim responses are dropped.
      if (parsed.head.status === 100) ex.handlers.continued?.();
      if (rest.length > 0 && !ex.finished) this.#onData(rest);
      return;
    }
    this.#reusable = parsed.head.keepAlive;
    ex.body = new BodyReader(parsed.head.framing);
    if (!ex.handlers.head(parsed.head)) {
      this.abandon();
      return;
    }
    if (ex.body.done) this.#complete(ex, undefined, rest.length === 0);
    else if (rest.length > 0) this.#body(ex, rest);
  }

  #body(ex: Exchange, chunk: Buffer): void {
    let blocked = false;
    const step = (ex.body as BodyReader).push(chunk, (data) => {
      if (!ex.handlers.data(data)) blocked = true;
    });
    if (step.error) {
      this.#fail(ex, true);
      return;
    }
    if (step.done) this.#complete(ex, step.trailers, step.consumed === chunk.length);
    else if (blocked) this.socket.pause();
  }

  #complete(ex: Exchange, trailers: IncomingHttpHeaders | undefined, clean: boolean): void {
    ex.finished = true;
    this.#ex = undefined;
    const reuse = clean && this.#reusable && ex.requestSent && !this.socket.destroyed;
    if (reuse) this.socket.resume();
    ex.handlers.end(trailers);
    if (reuse) this.#release(this);
    else this.socket.destroy();
  }

  /** Whether the pool may hand this connection out: open both ways and not closed by the peer. */
  get usable(): boolean {
    return !this.socket.destroyed && this.socket.writable && !this.socket.readableEnded;
  }

  #onClose(hadError: boolean): void {
    const ex = this.#ex;
    this.#ex = undefined;
    if (!ex || ex.finished) return;
    // A body delimited by the close is complete only if the connection closed cleanly, not by a reset.
    if (!hadError && ex.body && ex.body.end().done) {
      this.#complete(ex, undefined, false);
      return;
    }
    this.#fail(ex, ex.body !== undefined);
  }

  #fail(ex: Exchange, headSeen: boolean): void {
    ex.finished = true;
    this.#ex = undefined;
    this.socket.destroy();
    ex.handlers.fail(headSeen);
  }
}

/** Idle connections per key (app port or peer endpoint), newest first out. */
export class IdleConnections<K> {
  readonly #idle = new Map<K, H1ClientConnection[]>();
  readonly #max: number;

  constructor(maxPerKey: number) {
    this.#max = maxPerKey;
  }

  take(key: K): H1ClientConnection | undefined {
    const list = this.#idle.get(key);
    while (list && list.length > 0) {
      const conn = list.pop() as H1ClientConnection;
      if (conn.usable) return conn;
      conn.socket.destroy();
    }
    return undefined;
  }

  put(key: K, conn: H1ClientConnection): void {
    let list = this.#idle.get(key);
    if (!list) {
      list = [];
      this.#idle.set(key, list);
    }
    if (list.length >= this.#max) conn.socket.destroy();
    else list.push(conn);
  }

  forget(key: K, conn: H1ClientConnection): void {
    const list = this.#idle.get(key);
    const i = list ? list.indexOf(conn) : -1;
    if (list && i >= 0) list.splice(i, 1);
  }

  destroyAll(): void {
    for (const list of this.#idle.values()) for (const conn of list) conn.socket.destroy();
    this.#idle.clear();
  }
}
