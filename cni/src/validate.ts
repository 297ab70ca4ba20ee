// Proof that a pod's outbound TCP is redirected, before its app starts (the
// unprivileged init container of CNI mode, like Linkerd's network-validator).
// It listens on the proxy's outbound port and dials an address outside the
// pod: with capture in place the kernel redirects the connection to its own
// listener, which answers with a random token; without, the dial fails or
// reaches something else, and the reason says which.
import { randomBytes } from "node:crypto";
import { createServer, connect, type Server } from "node:net";
import { fail, ok, type Result } from "../../lib/result.ts";

export interface ValidateOptions {
  /** The proxy's outbound port, where capture sends the app's connections. */
  outboundPort: number;
  /** Any address outside the pod that has a route (nothing needs to listen there). */
  target: { host: string; port: number };
  timeoutMs: number;
}

export type ValidateFailure = "listen-failed" | "not-redirected" | "timeout";

const HINT = "the weft CNI plugin did not write this pod's capture rules: is the weft-cni DaemonSet running on this node and weft-cni in its CNI chain (weft check)?";

function listen(port: number, token: Buffer): Promise<Result<Server, ValidateFailure>> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.end(token));
    server.once("error", (error) => resolve(fail("listen-failed", `cannot listen on port ${port}: ${error.message}`)));
    server.listen(port, "0.0.0.0", () => resolve(ok(server)));
  });
}

export async function validateRedirect(options: ValidateOptions): Promise<Result<void, ValidateFailure>> {
  const token = randomBytes(16);
  const listening = await listen(options.outboundPort, token);
  if (!listening.ok) return listening;
  const server = listening.value;
  const { host, port } = options.target;
  try {
    return await new Promise<Result<void, ValidateFailure>>((resolve) => {
      const chunks: Buffer[] = [];
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(fail("timeout", `no answer from ${host}:${port} within ${options.timeoutMs} ms; ${HINT}`));
      }, options.timeoutMs);
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.on("error", (error) => {
        clearTimeout(timer);
        resolve(fail("not-redirected", `connecting to ${host}:${port} failed (${error.message}) instead of reaching port ${options.outboundPort}; ${HINT}`));
      });
      socket.on("close", () => {
        clearTimeout(timer);
        const got = Buffer.concat(chunks);
        resolve(got.equals(token) ? ok(undefined) : fail("not-redirected", `${host}:${port} answered, but not through port ${options.outboundPort} (${got.length} bytes that are not our token); ${HINT}`));
      });
    });
  } finally {
    server.close();
  }
}

/** "host:port" (IPv6 in brackets). */
export function parseTarget(text: string): Result<{ host: string; port: number }> {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined || port < 1 || port > 65535) return fail("bad-flag", `"${text}" is not host:port`);
  return ok({ host, port });
}
