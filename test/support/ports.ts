// Loopback ports for tests: ones nothing listens on (to hand to a process
// that binds them itself), and waiting until something accepts on one.
//
// A free port is free when picked, not when used: another process may take it
// in between. Prefer letting the code under test bind port 0 and report what it
// got; use these where a port must be chosen up front (a flag, a config file),
// and retry the start once on "address already in use" where that matters.
import * as net from "node:net";
import { freePorts } from "../../lib/free-ports.ts";
import { waitFor, type WaitOptions } from "./wait.ts";

export { freePorts };

/** One port that nothing listened on a moment ago. For several, use `freePorts(n)`. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}

/** Whether something accepts a TCP connection on host:port now (refused, unreachable or slow: false). */
export function accepting(port: number, host = "127.0.0.1", timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Resolves once something accepts TCP connections on host:port (default: 30 s to appear). */
export async function waitForPort(port: number, options: WaitOptions & { host?: string } = {}): Promise<void> {
  const host = options.host ?? "127.0.0.1";
  await waitFor(`something to accept connections on ${host}:${port}`, () => accepting(port, host), { timeoutMs: 30_000, intervalMs: 100, ...options });
}
