// Writing one message to a proxy's stream and watching it leave. A large
// message holds a write slot until HTTP/2 flow control lets its bytes out;
// a proxy too slow to read must not hold the slot (and everyone queued behind
// it) for ever, so the write also has a deadline on the injected clock.
import type { Clock } from "../../lib/clock.ts";

/** What the writer needs of a stream (a gRPC server call is one). */
export interface MessageSink {
  write(chunk: Buffer, flushed?: (error?: Error | null) => void): boolean;
  once(event: "close" | "cancelled" | "error", listener: () => void): unknown;
  off(event: "close" | "cancelled" | "error", listener: () => void): unknown;
}

export interface WriteWatch {
  /** The bytes were flushed to the transport, or the stream ended first: either way they are gone. Called once. */
  left(): void;
  /** The deadline passed before the bytes left. Called at most once, and never after `left`. */
  overdue(): void;
}

export interface DeadlineOptions {
  clock: Clock;
  deadlineMs: number;
}

export function writeWithDeadline(sink: MessageSink, bytes: Buffer, options: DeadlineOptions, watch: WriteWatch): void {
  let done = false;
  const timer = options.clock.setTimeout(() => {
    if (!done) watch.overdue();
  }, options.deadlineMs);
  const gone = () => {
    if (done) return;
    done = true;
    options.clock.clearTimeout(timer);
    // A long-lived stream writes many messages: leave no listener behind per message.
    sink.off("close", gone);
    sink.off("cancelled", gone);
    sink.off("error", gone);
    watch.left();
  };
  sink.once("close", gone);
  sink.once("cancelled", gone);
  sink.once("error", gone);
  sink.write(bytes, gone);
}
