import { strict as assert } from "node:assert";
import { once } from "node:events";
import { PassThrough, Writable } from "node:stream";
import { ReplayBody } from "../../sidecar/src/outbound/replay-body.ts";

/** A sink that keeps what it is given and can hold its writes back to make the writer wait for 'drain'. */
class RecordingSink extends Writable {
  readonly chunks: Buffer[] = [];
  #held: (() => void)[] = [];
  #holding: boolean;

  constructor(options: { hold?: boolean } = {}) {
    super({ highWaterMark: 1 });
    this.#holding = options.hold ?? false;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(chunk);
    if (this.#holding) this.#held.push(() => cb());
    else cb();
  }

  /** Completes the held writes and stops holding; the stream then emits 'drain'. */
  release(): void {
    this.#holding = false;
    for (const cb of this.#held.splice(0)) cb();
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString("latin1");
  }
}

const b = (s: string): Buffer => Buffer.from(s, "latin1");

async function finished(sink: Writable): Promise<void> {
  if (!sink.writableFinished) await once(sink, "finish");
}

/** Resolves once `sink` has been given at least `n` bytes. */
async function received(sink: RecordingSink, n: number): Promise<void> {
  while (sink.text.length < n) await new Promise((r) => setImmediate(r));
}

describe("outbound replay body: a request body a retry can send again", () => {
  it("holds the client's bytes until an attempt is attached, then streams them to it", async () => {
    const source = new PassThrough();
    source.write(b("early"));
    const body = new ReplayBody(source, 1024);
    const sink = new RecordingSink();
    assert.equal(body.attach(sink, true), true);
    source.end(b("-late"));
    await finished(sink);
    assert.equal(sink.text, "early-late");
    assert.equal(body.bytes, 10);
  });

  it("replays a body under the limit to a second attempt byte for byte, kept chunks first and then the live stream", async () => {
    const source = new PassThrough();
    const body = new ReplayBody(source, 1024);
    const first = new RecordingSink();
    body.attach(first, true);
    source.write(b("part one;"));
    source.write(b("part two;"));
    await received(first, 18);

    body.detach();
    const second = new RecordingSink();
    assert.equal(body.attach(second, false), true);
    assert.equal(second.text, "part one;part two;", "the kept chunks go out before anything new");
    source.end(b("part three"));
    await finished(second);

    assert.equal(second.text, "part one;part two;part three");
    assert.equal(first.text, "part one;part two;", "a detached attempt gets nothing more");
    assert.equal(first.writableEnded, false, "nor the end of the body");
    assert.equal(body.bytes, 28, "bytes count what the client sent, not what was replayed");
  });

  it("replays a body that had already ended, ending the second attempt too", async () => {
    const source = new PassThrough();
    const body = new ReplayBody(source, 1024);
    const first = new RecordingSink();
    body.attach(first, true);
    source.end(b("whole body"));
    await finished(first);

    body.detach();
    const second = new RecordingSink();
    assert.equal(body.attach(second, false), true);
    await finished(second);
    assert.equal(second.text, "whole body");
    assert.equal(body.replayable, true);
  });

  it("keeps a body exactly at the limit replayable and gives up one byte past it", async () => {
    const atLimit = new PassThrough();
    const kept = new ReplayBody(atLimit, 8);
    const sinkA = new RecordingSink();
    kept.attach(sinkA, true);
    atLimit.end(b("12345678"));
    await finished(sinkA);
    assert.equal(kept.replayable, true);

    const overLimit = new PassThrough();
    const dropped = new ReplayBody(overLimit, 8);
    const sinkB = new RecordingSink();
    dropped.attach(sinkB, true);
    overLimit.end(b("123456789"));
    await finished(sinkB);
    assert.equal(dropped.replayable, false);
  });

  it("over the limit still streams the whole body to the current attempt but refuses a second one", async () => {
    const source = new PassThrough();
    const body = new ReplayBody(source, 10);
    const first = new RecordingSink();
    body.attach(first, true);
    source.write(b("0123456"));
    await received(first, 7);
    assert.equal(body.replayable, true);
    source.end(b("789abc"));
    await finished(first);

    assert.equal(first.text, "0123456789abc");
    assert.equal(body.replayable, false);
    body.detach();
    const second = new RecordingSink();
    assert.equal(body.attach(second, false), false, "a retry cannot be given a body it no longer has");
    assert.equal(second.chunks.length, 0);
    assert.equal(body.bytes, 13);
  });

  it("after commit refuses a second attempt while the current one still gets the rest of the body", async () => {
    const source = new PassThrough();
    const body = new ReplayBody(source, 1024);
    const first = new RecordingSink();
    body.attach(first, true);
    source.write(b("before;"));
    await received(first, 7);

    body.commit();
    assert.equal(body.replayable, false);
    source.end(b("after"));
    await finished(first);
    assert.equal(first.text, "before;after");

    body.detach();
    assert.equal(body.attach(new RecordingSink(), false), false);
  });

  it("a first attempt is always attached, even once the body can no longer be replayed", async () => {
    const source = new PassThrough();
    const body = new ReplayBody(source, 1024);
    body.commit();
    const sink = new RecordingSink();
    assert.equal(body.attach(sink, true), true);
    source.end(b("abc"));
    await finished(sink);
    assert.equal(sink.text, "abc");
  });

  it("pauses the client while the attempt's sink is full and resumes it on the sink's drain", async () => {
    const source = new PassThrough();
    const body = new ReplayBody(source, 1024);
    const sink = new RecordingSink({ hold: true });
    body.attach(sink, true);
    source.write(b("x"));
    await received(sink, 1);
    assert.equal(source.isPaused(), true);

    source.end(b("y"));
    sink.release();
    await finished(sink);
    assert.equal(sink.text, "xy");
  });

  it("a detached attempt's drain does not resume the client", async () => {
    const source = new PassThrough();
    const body = new ReplayBody(source, 1024);
    const stale = new RecordingSink({ hold: true });
    body.attach(stale, true);
    source.write(b("x"));
    await received(stale, 1);
    body.detach();

    // Registered after the body's own drain listener, so it runs once that one has.
    const drained = once(stale, "drain").then(() => source.isPaused());
    stale.release();
    assert.equal(await drained, true);
  });
});
