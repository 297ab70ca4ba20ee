// What the tests that run the real control plane and proxies as processes in
// local mode share: where the entry points are, a free loopback port, and polling.
import assert from "node:assert/strict";
import * as net from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CP = join(ROOT, "control-plane/src/main.ts");
export const CLI = join(ROOT, "cli/src/main.ts");
export const PROXY = join(ROOT, "sidecar/src/main.ts");
export const TD = "example.org";

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Calls `fn` every 200 ms until it yields a value (errors count as "not yet"); fails after `ms`. */
export async function poll<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
