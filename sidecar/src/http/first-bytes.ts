// Reads a connection's first bytes until detection decides or a short timeout
// passes (a server-speaks-first client sends nothing; classifyAtTimeout says
// what a partial line is), then puts them back so
// whichever server takes the socket sees the stream from its start.
import type { Socket } from "node:net";
import { classifyAtTimeout, detectProtocol, type DetectedProtocol } from "./protocol-detect.ts";

export function detectFirstBytes(socket: Socket, timeoutMs: number, done: (protocol: DetectedProtocol | "closed") => void): void {
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
    done(protocol);
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
}

/** Pipes two sockets both ways; either side closing or failing closes the other. */
export function splice(a: Socket, b: Socket, onClose?: () => void): void {
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    a.destroy();
    b.destroy();
    onClose?.();
  };
  a.on("error", close);
  b.on("error", close);
  a.on("close", close);
  b.on("close", close);
  a.pipe(b);
  b.pipe(a);
  a.resume();
}
