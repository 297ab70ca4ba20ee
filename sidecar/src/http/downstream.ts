// The client side of one proxied HTTP request, whether it arrived over
// HTTP/1.1 (req/res) or as an HTTP/2 stream: one small interface so the
// forwarding and retry logic is written once. A downstream is the request
// itself (http/request.ts) plus the way back to its client.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import * as http2 from "node:http2";
import type { Readable, Writable } from "node:stream";
import { fieldValue, type ProxyRequest } from "./request.ts";
import { originForm } from "./request-target.ts";
import { WEFT_CONNECTION, WEFT_PROTO } from "./headers.ts";

export interface Downstream extends ProxyRequest {
  readonly proto: "h1" | "h2";
  /** Sends the response head; with `endStream` the response is complete. */
  respond(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void;
  readonly sink: Writable;
  /**
   * Response body data straight to the client's connection, where the downstream can write it without
   * a stream in between (sink is a Writable made per response; this is the relays' per-chunk path).
   * False: `onDrain` runs once more can be written. Without it, writeResponseBody goes through sink.
   */
  writeBody?(chunk: Buffer, onDrain: () => void): boolean;
  /** Ends the response body, with trailers if any. */
  finish(trailers: OutgoingHttpHeaders | undefined): void;
  /** Breaks the response off (the client sees a reset or a truncated body). */
  abort(): void;
  readonly responded: boolean;
  /** Called once if the client goes away before the response is finished. */
  onAbort(listener: () => void): void;
  /** The client sent Expect: 100-continue: the app decides, and its 100 goes back through sendContinue. */
  readonly expectsContinue: boolean;
  /** Relays the app's 100 Continue (the client may send its body now); nothing once the response has begun. */
  sendContinue(): void;
}

/** Response body data to `ds`: its own writeBody where it has one, else its sink; false: `onDrain` runs once more can be written. */
export function writeResponseBody(ds: Downstream, chunk: Buffer, onDrain: () => void): boolean {
  return ds.writeBody ? ds.writeBody(chunk, onDrain) : writeToSink(ds.sink, chunk, onDrain);
}

/** `chunk` to a Writable; false: `onDrain` runs on its next drain. */
export function writeToSink(sink: Writable, chunk: Buffer, onDrain: () => void): boolean {
  const ok = sink.write(chunk);
  if (!ok) sink.once("drain", onDrain);
  return ok;
}

/** A request node:http parsed (the connections Weft's framer hands over). */
export class H1Downstream implements Downstream {
  readonly proto = "h1";
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly fields: readonly string[];
  readonly fieldsChecked = false;
  readonly body: Readable;
  readonly hasBody: boolean;
  readonly sink: Writable;
  readonly expectsContinue: boolean;
  readonly mayHaveTrailers: boolean;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  /** Set while draining: tell the client to close its connection after this response. */
  readonly #closeAfter: boolean;

  constructor(req: IncomingMessage, res: ServerResponse, closeAfter: boolean) {
    this.method = req.method ?? "GET";
    this.path = req.url ?? "/";
    // rawHeaders keeps the client's spelling; the field list is lower-case.
    const raw = req.rawHeaders;
    const fields: string[] = new Array<string>(raw.length);
    for (let i = 0; i < raw.length; i += 2) {
      fields[i] = (raw[i] as string).toLowerCase();
      fields[i + 1] = raw[i + 1] as string;
    }
    this.fields = fields;
    this.authority = fieldValue(fields, "host") ?? "";
    // An absolute-form target names the authority and goes on in origin-form (RFC 9112 §3.2.2).
    const absolute = originForm(this.path);
    if (typeof absolute === "object") {
      this.path = absolute.target;
      this.authority = absolute.authority;
    }
    this.body = req;
    const length = fieldValue(fields, "content-length");
    this.hasBody = length !== undefined ? length !== "0" : fieldValue(fields, "transfer-encoding") !== undefined;
    this.mayHaveTrailers = length === undefined && this.hasBody;
    this.#req = req;
    this.sink = res;
    this.#res = res;
    this.#closeAfter = closeAfter;
    // Only a 'checkContinue' request carries it here: node:http answers any other expectation 417 itself.
    this.expectsContinue = req.headers.expect !== undefined;
  }

  sendContinue(): void {
    if (!this.#res.headersSent && !this.#res.destroyed) this.#res.writeContinue();
  }

  get trailers(): IncomingHttpHeaders | undefined {
    if (!this.mayHaveTrailers || !this.#req.complete) return undefined;
    const t = this.#req.trailers;
    for (const _ in t) return t;
    return undefined;
  }

  get responded(): boolean {
    return this.#res.headersSent;
  }

  respond(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void {
    // Only a client reaches this server (never a peer proxy): the app's Connection: close is said as itself.
    const appClose = headers[WEFT_CONNECTION] !== undefined;
    delete headers[WEFT_CONNECTION];
    if (this.#closeAfter || appClose) headers.connection = "close";
    try {
      this.#res.writeHead(status, headers);
    } catch {
      // A header the HTTP/1.1 side cannot carry: fail this response, not the process.
      this.#res.destroy();
      return;
    }
    if (endStream) this.#res.end();
  }

  finish(trailers: OutgoingHttpHeaders | undefined): void {
    try {
      if (trailers) this.#res.addTrailers(trailers);
    } catch {
      // Trailers the client cannot take are dropped; the body is still complete.
    }
    this.#res.end();
  }

  abort(): void {
    this.#res.destroy();
  }

  onAbort(listener: () => void): void {
    this.#res.once("close", () => {
      if (!this.#res.writableFinished) listener();
    });
  }
}

/** A request that arrived as an HTTP/2 stream. */
export class H2Downstream implements Downstream {
  readonly proto = "h2";
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly fields: readonly string[];
  readonly fieldsChecked = false;
  readonly body: Readable;
  readonly hasBody: boolean;
  readonly sink: Writable;
  readonly expectsContinue: boolean;
  readonly mayHaveTrailers: boolean;
  #trailersIn: IncomingHttpHeaders | undefined;
  readonly #stream: http2.ServerHttp2Stream;
  #trailers: OutgoingHttpHeaders | undefined;
  /** The client is a peer proxy: the app's weft-connection goes on to it; anyone else's HTTP/2 connection has no use for it. */
  readonly #peerHop: boolean;

  /** `rawHeaders` is the field list node:http2 hands to its 'stream' event (pseudo-headers first). */
  constructor(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: readonly string[], peerHop = false) {
    this.method = String(headers[":method"] ?? "GET");
    this.path = String(headers[":path"] ?? "/");
    this.authority = String(headers[":authority"] ?? headers.host ?? "");
    this.fields = rawHeaders;
    this.body = stream;
    this.hasBody = !stream.endAfterHeaders;
    this.sink = stream;
    this.#stream = stream;
    this.#peerHop = peerHop;
    this.expectsContinue = headers.expect !== undefined;
    // Trailers are taken from what a peer proxy relays for an HTTP/1.1 chunked body (no Content-Length);
    // any other stream pays nothing for them.
    this.mayHaveTrailers = peerHop && this.hasBody && headers[WEFT_PROTO] === "h1" && headers["content-length"] === undefined;
    if (this.mayHaveTrailers) {
      stream.once("trailers", (t: http2.IncomingHttpHeaders) => {
        this.#trailersIn = t;
      });
    }
  }

  get trailers(): IncomingHttpHeaders | undefined {
    return this.#trailersIn;
  }

  sendContinue(): void {
    if (this.#stream.headersSent || this.#stream.destroyed || this.#stream.closed) return;
    try {
      this.#stream.additionalHeaders({ ":status": 100 });
    } catch {
      // The stream is going away: its close reports the request.
    }
  }

  get responded(): boolean {
    return this.#stream.headersSent;
  }

  respond(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void {
    if (this.#stream.destroyed || this.#stream.closed) return;
    headers[":status"] = status;
    if (!this.#peerHop) delete headers[WEFT_CONNECTION];
    try {
      this.#stream.respond(headers, { endStream, waitForTrailers: !endStream });
    } catch {
      this.abort();
      return;
    }
    if (!endStream) {
      this.#stream.once("wantTrailers", () => {
        // An empty trailer block still ends the stream cleanly (close() here would reset it).
        try {
          this.#stream.sendTrailers(this.#trailers ?? {});
        } catch {
          this.abort();
        }
      });
    }
  }

  finish(trailers: OutgoingHttpHeaders | undefined): void {
    this.#trailers = trailers;
    this.#stream.end();
  }

  abort(): void {
    if (!this.#stream.destroyed) this.#stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  }

  onAbort(listener: () => void): void {
    this.#stream.once("close", () => {
      if (this.#stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR || !this.#stream.writableFinished) listener();
    });
  }
}
