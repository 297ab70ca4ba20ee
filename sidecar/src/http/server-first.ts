// The socket side of skipping detection for destinations remembered as
// server-first (server-first-memory.ts keeps the memory). Two ways, one per
// listener:
//
// - outbound, the stream goes opaque at once (to the peer's proxy, which looks
//   at it again), and the client's first bytes are only watched: HTTP in them
//   means the memory was wrong, so the destination is forgotten;
// - inbound, where HTTP must never reach the app unparsed (weft-client-id),
//   the app is dialled at once and raced with detection: the app's first byte
//   before the client's decides "opaque" without waiting; the client's bytes
//   first are detected as usual.
import type { Socket } from "node:net";
import { detectFirstBytes } from "./first-bytes.ts";
import { detectProtocol, type DetectedProtocol } from "./protocol-detect.ts";

/** More than detection ever needs to decide (a request line is judged within 8 KiB). */
const WATCH_LIMIT = 16 * 1024;

export function isHttp(protocol: DetectedProtocol | "closed"): boolean {
  return protocol === "http1" || protocol === "h2";
}

/**
 * Runs `onHttp` if the first bytes the client sends are HTTP, without taking
 * them: the watch starts when the socket starts flowing (piped to its
 * upstream), so its listener only sees what the pipe also gets.
 */
export function watchForHttp(socket: Socket, onHttp: () => void): void {
  socket.once("resume", () => {
    let seen: Buffer | undefined;
    const onData = (chunk: Buffer): void => {
      seen = seen ? Buffer.concat([seen, chunk]) : chunk;
      const detection = detectProtocol(seen);
      if (detection.kind === "need-more" && seen.length < WATCH_LIMIT) return;
      socket.off("data", onData);
      if (detection.kind === "done" && isHttp(detection.protocol)) onHttp();
    };
    socket.on("data", onData);
  });
}

/**
 * Detection raced with the server: `upstream` is already dialled, and its
 * first byte (or its closing) before the client's decides "opaque" at once.
 * `upstream` is left paused, with that byte put back, for the caller to splice
 * or to destroy.
 */
export function detectRacingServer(socket: Socket, upstream: Socket, timeoutMs: number, done: (protocol: DetectedProtocol | "closed", serverSpoke: boolean) => void): void {
  let serverSpoke = false;
  const onUpstreamData = (chunk: Buffer): void => {
    upstream.pause();
    upstream.unshift(chunk);
    serverSpoke = true;
    decide("opaque");
  };
  const onUpstreamClose = (): void => decide("opaque");
  upstream.on("data", onUpstreamData);
  upstream.once("close", onUpstreamClose);
  const decide = detectFirstBytes(socket, timeoutMs, (protocol) => {
    // Paused before the listener goes, so nothing the app sends is dropped.
    upstream.pause();
    upstream.off("data", onUpstreamData);
    upstream.off("close", onUpstreamClose);
    done(protocol, serverSpoke);
  });
}
