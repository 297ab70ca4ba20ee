// Flags shared by the demo apps: `--port N` (where the app listens on loopback)
// and `--name`. Bad flags end the process with a one-line message.
import { parseArgs } from "node:util";

export function demoAppArgs(extra: Record<string, { type: "string" }> = {}): Record<string, string> {
  try {
    const { values } = parseArgs({ args: process.argv.slice(2), strict: true, options: { port: { type: "string" }, ...extra } });
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) if (typeof v === "string") out[k] = v;
    if (!out.port || !/^\d+$/.test(out.port)) throw new Error("--port N is required");
    return out;
  } catch (err) {
    console.error(`demo app: ${(err as Error).message}`);
    process.exit(2);
  }
}

/** Exit quietly on SIGTERM/SIGINT (the demo stops its children with SIGTERM). */
export function exitOnSignals(close: () => void): void {
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => {
    close();
    process.exit(0);
  });
}
