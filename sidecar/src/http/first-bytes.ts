// Reads a connection's first bytes until detection decides or a short timeout
// passes (a server-speaks-first client sends nothing; classifyAtTimeout says
// what a partial line is), then puts them back so
// whichever server takes the socket sees the stream from its start.
import type { Socket } from "node:net";
import { classifyAtTimeout, detectProtocol, type DetectedProtocol } from "./protocol-detect.ts";

/**
 * `done` learns whether the client sent any byte at all (none by the timeout:
 * the server speaks first). The function returned settles detection at once,
 * for a caller that learns the protocol another way (the server spoke).
 */
export function detectFirstBytes(socket: Socket, timeoutMs: number, done: (protocol: DetectedProtocol | "closed", clientSpoke: boolean) => void): (protocol: DetectedProtocol) => void {
  let buffered: Buffer | undefined;
  let settled = false;
  const settle = (protocol: DetectedProtocol | "closed"): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("close", onClose);
    socket.pause();
    if (buffered) socket.unshift(buffered);
    done(protocol, buffered !== undefined);
  };
  const onData = (chunk: Buffer): void => {
    buffered = buffered ? Buffer.concat([buffered, chunk]) : chunk;
    const result = detectProtocol(buffered);
    if (result.kind === "done") settle(result.protocol);
  };
  const onClose = (): void => settle("closed");
  const timer = setTimeout(() => settle(classifyAtTimeout(buffered)), timeoutMs);
  socket.on("data", onData);
  socket.on("close", onClose);
  return settle;
}

/**
 * Pipes two sockets both ways. A half-close travels: one side's end ends the
 * other's write side once what was piped is flushed, and the other direction
 * keeps flowing (both sockets need allowHalfOpen). A socket that closes
 * cleanly has both directions done, and the other one closes itself once its
 * writes are flushed; an error or a reset on either side destroys both.
 */
export function splice(a: Socket, b: Socket, onClose?: () => void): void {
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    a.destroy();
    b.destroy();
    onClose?.();
  };
  const onSideClose = (side: Socket, other: Socket): void => {
    const clean = side.readableEnded && side.writableFinished && side.errored === null;
    if (!clean || other.destroyed) close();
    else other.once("close", close);
  };
  a.on("error", close);
  b.on("error", close);
  a.once("close", () => onSideClose(a, b));
  b.once("close", () => onSideClose(b, a));
  a.pipe(b);
  b.pipe(a);
  a.resume();
}
