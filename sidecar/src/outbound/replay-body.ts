// A request body that can be sent again: chunks are kept (up to a bound) while
// they stream to the current attempt, so a retry replays what was sent and then
// follows the live stream. Past the bound the body is no longer replayable and
// the kept chunks are dropped.
import type { Readable, Writable } from "node:stream";

export class ReplayBody {
  readonly #source: Readable;
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #total = 0;
  #ended = false;
  #replayable = true;
  #sink: Writable | undefined;

  constructor(source: Readable, limit: number) {
    this.#source = source;
    this.#limit = limit;
    source.on("data", (chunk: Buffer) => this.#onData(chunk));
    source.on("end", () => {
      this.#ended = true;
      this.#sink?.end();
    });
    // Until an attempt is attached there is nowhere to put bytes.
    source.pause();
  }

  get replayable(): boolean {
    return this.#replayable;
  }

  /** Body bytes read from the client so far. */
  get bytes(): number {
    return this.#total;
  }

  #onData(chunk: Buffer): void {
    this.#total += chunk.length;
    if (this.#replayable) {
      this.#bytes += chunk.length;
      if (this.#bytes > this.#limit) {
        this.#replayable = false;
        this.#chunks = [];
      } else {
        this.#chunks.push(chunk);
      }
    }
    const sink = this.#sink;
    if (sink && !sink.write(chunk)) {
      this.#source.pause();
      sink.once("drain", () => {
        if (this.#sink === sink) this.#source.resume();
      });
    }
  }

  /** Streams the body into `sink`: kept chunks first, then live data. Returns false if it cannot be replayed. */
  attach(sink: Writable, first: boolean): boolean {
    if (!first && !this.#replayable) return false;
    this.#sink = sink;
    if (!first) for (const chunk of this.#chunks) sink.write(chunk);
    if (this.#ended) sink.end();
    else this.#source.resume();
    return true;
  }

  /** No more retries will happen: stop keeping chunks. */
  commit(): void {
    this.#replayable = false;
    this.#chunks = [];
  }

  detach(): void {
    this.#sink = undefined;
    this.#source.pause();
  }
}
