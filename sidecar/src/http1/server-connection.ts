// One client HTTP/1.1 connection served through the framer instead of
// node:http: requests one at a time (pipelined bytes wait), each handed on as
// a FramedH1Downstream. Anything out of the ordinary (a head not complete in
// what was read, bad input but what refusals.ts answers here, Expect, Upgrade, CONNECT,
// HTTP/1.0) hands the connection, with the bytes already read put back, to the
// node:http server, which then keeps it: its behaviour, errors and timeouts apply unchanged.
import type { Socket } from "node:net";
import { BodyReader } from "./body-reader.ts";
import { parseRequestHead, type FrameError } from "./framer.ts";
import { frameRefusal } from "./refusals.ts";
import { FramedH1Downstream, type FramedConnectionHooks } from "./downstream.ts";

export interface FramedConnectionOptions {
  maxHeaderBytes: number;
  idleTimeoutMs: number;
  isDraining: () => boolean;
  onRequest: (ds: FramedH1Downstream) => void;
  /** Takes the socket over (paused, unread bytes unshifted). */
  fallback: (socket: Socket) => void;
  /** A request head answered with an error here (refusals.ts) rather than handed over; for counting. */
  onRefused?: (reason: FrameError) => void;
  /** Keep reading a head that is not complete yet (peer connections: a head can span TLS records) instead of handing over. */
  waitForHead?: boolean;
  /** The client is a peer proxy (FramedConnectionHooks.peerHop). */
  peerHop?: boolean;
}

export class FramedH1Connection implements FramedConnectionHooks {
  readonly socket: Socket;
  readonly #o: FramedConnectionOptions;
  #buffered: Buffer | undefined;
  #current: FramedH1Downstream | undefined;
  #body: BodyReader | undefined;
  #handedOver = false;
  /** Set once the connection is closing: nothing read after that is parsed (no request smuggled in a body we stopped framing). */
  #closing = false;
  /** The client half-closed (FIN after its last request): answer what it sent, then end. */
  #clientEnded = false;
  readonly #onData = (chunk: Buffer): void => this.#data(chunk);
  readonly #onClose = (): void => this.#closed();
  readonly #onEnd = (): void => this.#ended();
  readonly #onTimeout = (): void => {
    if (!this.#current) this.socket.destroy();
  };

  constructor(socket: Socket, options: FramedConnectionOptions) {
    this.socket = socket;
    this.#o = options;
    socket.on("data", this.#onData);
    socket.on("close", this.#onClose);
    socket.on("end", this.#onEnd);
    // on(), not setTimeout's callback (a once listener): the timeout must fire again after a busy period.
    socket.on("timeout", this.#onTimeout);
    socket.setTimeout(options.idleTimeoutMs);
    socket.resume();
  }

  get peerHop(): boolean {
    return this.#o.peerHop === true;
  }

  get idle(): boolean {
    return !this.#current && !this.#handedOver;
  }

  #data(chunk: Buffer): void {
    if (this.#closing) return;
    if (this.#current && this.#body) {
      const body = this.#body;
      const step = body.push(chunk, (data) => {
        if (!this.#current?.pushBody(data)) this.socket.pause();
      });
      if (step.error) {
        // The body cannot be framed: no way to know where the next request starts.
        this.socket.destroy();
        return;
      }
      if (step.done) {
        this.#body = undefined;
        this.#current.endBody(step.trailers);
      }
      if (step.consumed < chunk.length) this.#keep(chunk.subarray(step.consumed));
      return;
    }
    this.#keep(chunk);
    if (!this.#current) this.#next();
  }

  /** Bytes of a later request, kept until the current one is answered. */
  #keep(chunk: Buffer): void {
    this.#buffered = this.#buffered ? Buffer.concat([this.#buffered, chunk]) : chunk;
    if (this.#current && this.#buffered.length > this.#o.maxHeaderBytes) this.socket.pause();
  }

  #next(): void {
    if (!this.#buffered || this.#handedOver || this.#closing) return;
    // Empty lines before a request line are ignored (RFC 9112 §2.2): parsed here, not handed over unread.
    let start = 0;
    while (start < this.#buffered.length && (this.#buffered[start] === 0x0d || this.#buffered[start] === 0x0a)) start++;
    const buf = this.#buffered.subarray(start);
    this.#buffered = buf;
    if (buf.length === 0) return;
    const parsed = parseRequestHead(buf, this.#o.maxHeaderBytes);
    if (parsed.kind === "incomplete" && this.#o.waitForHead) return;
    const refusal = parsed.kind === "error" ? frameRefusal(parsed.reason) : undefined;
    if (refusal !== undefined && parsed.kind === "error") {
      this.#o.onRefused?.(parsed.reason);
      this.socket.write(refusal, "latin1");
      this.#close();
      return;
    }
    // CONNECT turns the connection into a tunnel once answered 2xx: not a request this connection can serve.
    if (parsed.kind !== "head" || parsed.head.unusual || parsed.head.minor === 0 || parsed.head.method === "CONNECT") {
      this.#handOver();
      return;
    }
    const rest = buf.subarray(parsed.consumed);
    this.#buffered = undefined;
    const ds = new FramedH1Downstream(parsed.head, this);
    this.#current = ds;
    if (ds.hasBody) this.#body = new BodyReader(parsed.head.framing);
    this.#o.onRequest(ds);
    if (rest.length === 0 || this.socket.destroyed || this.#closing) return;
    // Answered synchronously (a local error): keep the bytes for the next tick that
    // responseDone scheduled, rather than recursing once per pipelined request.
    if (this.#current === ds) this.#data(rest);
    else this.#keep(rest);
  }

  #handOver(): void {
    this.#handedOver = true;
    const socket = this.socket;
    socket.off("data", this.#onData);
    socket.off("close", this.#onClose);
    socket.off("end", this.#onEnd);
    socket.off("timeout", this.#onTimeout);
    socket.setTimeout(0);
    if (this.#clientEnded) {
      // Bytes cannot be put back into a stream that has ended; a client that sent
      // something the framer does not serve and then its FIN is not answered.
      socket.destroy();
      return;
    }
    socket.pause();
    if (this.#buffered) socket.unshift(this.#buffered);
    this.#buffered = undefined;
    this.#o.fallback(socket);
  }

  resumeBody(): void {
    if (this.#body) this.socket.resume();
  }

  isDraining(): boolean {
    return this.#o.isDraining();
  }

  responseDone(keepOpen: boolean): void {
    this.#current = undefined;
    // A response sent before the whole request body arrived leaves the stream unframeable.
    if (!keepOpen || this.#body) {
      this.#body = undefined;
      this.#close();
      return;
    }
    this.socket.resume();
    // The next pipelined request, after this one's last write has been queued.
    process.nextTick(() => {
      if (this.#current || this.socket.destroyed) return;
      this.#next();
      if (this.#clientEnded && !this.#current && !this.#handedOver) this.#close();
    });
  }

  /** Draining: an idle connection closes now, a busy one after its response. */
  closeIfIdle(): void {
    if (this.idle) this.#close();
  }

  /**
   * Ends our side after the last response. What the client still sends is read and
   * dropped, never parsed (it may be the rest of a body we stopped framing), and
   * reading on keeps unread bytes from turning the close into a reset that could
   * destroy the response in flight.
   */
  #close(): void {
    this.#closing = true;
    this.#buffered = undefined;
    this.socket.off("data", this.#onData);
    this.socket.on("data", () => undefined);
    this.socket.resume();
    this.socket.end();
    this.socket.destroySoon();
  }

  /**
   * The client's FIN. A request it sent whole is still answered (socat -t, a
   * script that closes its side after writing); one cut off in its body cannot be.
   */
  #ended(): void {
    this.#clientEnded = true;
    if (this.#current && this.#body) this.socket.destroy();
    else if (!this.#current && !this.#handedOver) this.#close();
  }

  #closed(): void {
    const ds = this.#current;
    this.#current = undefined;
    ds?.closed();
  }
}
