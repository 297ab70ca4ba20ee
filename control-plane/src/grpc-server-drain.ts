// Draining a gRPC server of the control plane (discovery, identity) when its
// replica shuts down. Long-lived streams never finish on their own: GOAWAY lets
// them run on, their proxies listening to a replica that is going away until the
// grace runs out or the process exits. They are ended first, which
// sends each proxy through its reconnect path to another replica at once; then
// the server sends GOAWAY and the unary calls in flight get up to the grace to
// finish before what is left is closed.
//
// tryShutdown's callback alone does not mean the calls are done: grpc-js 1.14
// on Node 24 reports a session closed once Node has marked it closing (GOAWAY
// sent), while its streams still run. A server that must wait for its calls
// says when they are done (`connectionsClosed`).
import type * as grpc from "@grpc/grpc-js";
import type { Clock } from "../../lib/clock.ts";

export interface ServerDrainOptions {
  /** How long calls in flight may take to finish after the drain starts. */
  graceMs: number;
  /** The grace runs on it. */
  clock: Clock;
  /** Ends the server's long-lived streams, synchronously, before the server stops taking calls. */
  endStreams?: () => void;
  /** Resolves once every connection the server had is closed, its calls answered; without it, tryShutdown's word is taken. */
  connectionsClosed?: () => Promise<void>;
}

/** Resolves once the server is done: its calls finished within the grace, or forced closed at its end. */
export function drainServer(server: grpc.Server, options: ServerDrainOptions): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = options.clock.setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, options.graceMs);
    options.endStreams?.();
    const shutDown = new Promise<void>((done) => server.tryShutdown(() => done()));
    void Promise.all([shutDown, options.connectionsClosed?.()]).then(() => {
      options.clock.clearTimeout(force);
      resolve();
    });
  });
}
