// Cuts one HTTP/1.1 message body out of a byte stream, whatever its framing
// (length, chunked with extensions and trailers, or until close), handing out
// slices of the input, never copies. Pure like the head parser in framer.ts,
// whose framing decision it follows: bytes in, body events out, errors as
// FrameError values.
import type { IncomingHttpHeaders } from "node:http";
import { BAD_VALUE, HEX, headerObject, parseHeaderLines, type FrameError, type Framing } from "./framer.ts";

export interface BodyStep {
  /** Bytes of the input taken (the rest belongs to the next message). */
  consumed: number;
  done: boolean;
  error?: FrameError;
  trailers?: IncomingHttpHeaders;
}

// Chunked decoding states.
const SIZE = 0;
const DATA = 1;
const DATA_END = 2;
const TRAILER = 3;

/**
 * Cuts one message body out of a byte stream, whatever its framing. push()
 * hands each piece of body data to onData as a slice of the input.
 */
export class BodyReader {
  readonly #framing: Framing;
  readonly #maxLineBytes: number;
  #remaining: number;
  #state = SIZE;
  #line = "";
  #trailerLines: string[] = [];
  #trailerBytes = 0;
  #done: boolean;

  constructor(framing: Framing, maxLineBytes = 8 * 1024) {
    this.#framing = framing;
    this.#maxLineBytes = maxLineBytes;
    this.#remaining = framing.kind === "length" ? framing.length : 0;
    this.#done = framing.kind === "none";
  }

  get done(): boolean {
    return this.#done;
  }

  /** The peer closed the stream: fine only for a close-delimited body. */
  end(): BodyStep {
    if (this.#framing.kind === "close") this.#done = true;
    return { consumed: 0, done: this.#done, error: this.#done ? undefined : "bad-chunk" };
  }

  push(buf: Buffer, onData: (chunk: Buffer) => void): BodyStep {
    if (this.#done) return { consumed: 0, done: true };
    const kind = this.#framing.kind;
    if (kind === "close") {
      if (buf.length > 0) onData(buf);
      return { consumed: buf.length, done: false };
    }
    if (kind === "length") {
      const take = Math.min(this.#remaining, buf.length);
      if (take > 0) onData(take === buf.length ? buf : buf.subarray(0, take));
      this.#remaining -= take;
      this.#done = this.#remaining === 0;
      return { consumed: take, done: this.#done };
    }
    return this.#chunked(buf, onData);
  }

  #chunked(buf: Buffer, onData: (chunk: Buffer) => void): BodyStep {
    let i = 0;
    while (i < buf.length) {
      if (this.#state === DATA) {
        const take = Math.min(this.#remaining, buf.length - i);
        onData(buf.subarray(i, i + take));
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = DATA_END;
        continue;
      }
      // Line states: size line, CRLF after data, trailer lines.
      const lf = buf.indexOf(10, i);
      const stop = lf < 0 ? buf.length : lf + 1;
      this.#line += buf.toString("latin1", i, stop);
      i = stop;
      if (this.#line.length > this.#maxLineBytes + 2) return this.#fail(i, this.#state === TRAILER ? "trailer-overflow" : "bad-chunk");
      if (lf < 0) break;
      if (this.#line.length < 2 || this.#line.charCodeAt(this.#line.length - 2) !== 13) return this.#fail(i, "bare-lf");
      const line = this.#line.slice(0, -2);
      this.#line = "";
      if (line.includes("\0")) return this.#fail(i, "nul");
      if (this.#state === DATA_END) {
        if (line.length !== 0) return this.#fail(i, "bad-chunk");
        this.#state = SIZE;
      } else if (this.#state === SIZE) {
        const semi = line.indexOf(";");
        const size = (semi < 0 ? line : line.slice(0, semi)).replace(/[ \t]+$/, "");
        if (!HEX.test(size) || BAD_VALUE.test(line)) return this.#fail(i, "bad-chunk");
        this.#remaining = parseInt(size, 16);
        this.#state = this.#remaining === 0 ? TRAILER : DATA;
      } else if (line.length === 0) {
        this.#done = true;
        if (this.#trailerLines.length === 0) return { consumed: i, done: true };
        const trailers = headerObject();
        const bad = parseHeaderLines(this.#trailerLines, 0, trailers);
        if (bad) return this.#fail(i, bad);
        return { consumed: i, done: true, trailers };
      } else {
        this.#trailerBytes += line.length;
        if (this.#trailerBytes > this.#maxLineBytes) return this.#fail(i, "trailer-overflow");
        this.#trailerLines.push(line);
      }
    }
    return { consumed: i, done: false };
  }

  #fail(consumed: number, error: FrameError): BodyStep {
    this.#done = true;
    return { consumed, done: true, error };
  }
}

/** HTTP/1.1 reason phrases the proxy writes; others get a generic one (clients ignore it). */
