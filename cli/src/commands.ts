// Subcommand table of the `weft` CLI. Each command lives in its own module and
// is loaded lazily so `weft --help` stays fast and a command's dependencies
// (the Kubernetes client, the proxy) load only when that command runs.
import type { Command } from "./command.ts";

export const commands: Record<string, () => Promise<Command>> = {
  authz: async () => (await import("./cmd-authz.ts")).command,
  capture: async () => (await import("./cmd-capture.ts")).command,
  check: async () => (await import("./cmd-check.ts")).command,
  completion: async () => (await import("./cmd-completion.ts")).command,
  dashboard: async () => (await import("./cmd-dashboard.ts")).command,
  demo: async () => (await import("./cmd-demo.ts")).command,
  diagnostics: async () => (await import("./cmd-diagnostics.ts")).command,
  edges: async () => (await import("./cmd-edges.ts")).command,
  identity: async () => (await import("./cmd-identity.ts")).command,
  inject: async () => (await import("./cmd-inject.ts")).command,
  local: async () => (await import("./local-command.ts")).command,
  "proxy-config": async () => (await import("./cmd-proxy-config.ts")).command,
  "proxy-status": async () => (await import("./cmd-proxy-status.ts")).command,
  run: async () => (await import("./cmd-run.ts")).command,
  stat: async () => (await import("./cmd-stat.ts")).command,
  top: async () => (await import("./cmd-top.ts")).command,
  tap: async () => (await import("./cmd-tap.ts")).command,
  uninject: async () => (await import("./cmd-uninject.ts")).command,
  version: async () => (await import("./cmd-version.ts")).command,
};

function usage(): string {
  const lines = Object.keys(commands).sort().map((name) => `  ${name}`);
  return ["usage: weft <command> [flags]", "", "commands:", ...lines].join("\n");
}

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`weft: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const command = await load();
  return command.run(rest);
}
