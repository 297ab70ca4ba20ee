// Local mode's state directory: the CA (trust anchor, issuer, local-token key;
// generated on first start) and the registry file. Runtime files (tokens,
// ports) go in DIR/run and are removed when the command stops.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface LocalState { dir: string; caDir: string; registry: string; runDir: string }

export function localState(dir: string): LocalState {
  return { dir, caDir: join(dir, "ca"), registry: join(dir, "registry.yaml"), runDir: join(dir, "run") };
}

/** Creates the CA on first start; returns false if `weft identity init` failed. */
export async function ensureCa(caDir: string): Promise<boolean> {
  if (existsSync(join(caDir, "ca.crt")) && existsSync(join(caDir, "local-token.key"))) return true;
  const { command } = await import("./cmd-identity.ts");
  return (await command.run(["init", "--dir", caDir, "--local", "--force"])) === 0;
}

const STARTER = `# Weft local mode: the services of the mesh, their workloads and identities.
# Format: docs/discovery.md (Local registry file). Changes are picked up while running.
services: []
`;

export function ensureRegistry(path: string): boolean {
  if (existsSync(path)) return false;
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, STARTER);
  return true;
}

/** One line saying what to do, from a failed control plane's fatal log reason. */
export function explainStartFailure(reason: string, flags: { identityPort: number; discoveryPort: number; adminPort: number }): string {
  const inUse = /EADDRINUSE.*?:(\d+)/.exec(reason);
  if (inUse) {
    const port = Number(inUse[1]);
    const flag = port === flags.identityPort ? "--identity-port" : port === flags.discoveryPort ? "--discovery-port" : port === flags.adminPort ? "--admin-port" : "the port flags";
    return `port ${port} is in use (another weft local?); stop that process or choose another with ${flag}`;
  }
  if (/EACCES/.test(reason)) return `not allowed to listen (${reason}); use ports above 1024`;
  if (reason.startsWith("registry file:")) return `${reason} — fix the file and start again`;
  return reason;
}

/** What a running `weft local` records for `weft run`: its mode, where its control plane listens, and (netns) its hub namespace. */
export interface LocalRuntime {
  pid: number;
  mode: "loopback" | "netns";
  host: string;
  identityPort: number;
  discoveryPort: number;
  adminPort: number;
  hub?: string;
}

/** The runtime file's contents; files of older versions (no mode) are loopback. */
export function parseRuntime(text: string): LocalRuntime | undefined {
  try {
    const j = JSON.parse(text) as Partial<LocalRuntime>;
    if (typeof j.identityPort !== "number" || typeof j.discoveryPort !== "number") return undefined;
    const mode = j.mode === "netns" ? "netns" : "loopback";
    if (mode === "netns" && typeof j.hub !== "string") return undefined;
    return { pid: j.pid ?? 0, mode, host: j.host ?? "127.0.0.1", identityPort: j.identityPort, discoveryPort: j.discoveryPort, adminPort: j.adminPort ?? 0, ...(j.hub ? { hub: j.hub } : {}) };
  } catch {
    return undefined;
  }
}

/** Where a running `weft local` records its ports for `weft run`. */
export function runtimeFile(state: LocalState): string {
  return join(state.runDir, "control-plane.json");
}
