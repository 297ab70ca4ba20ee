// `weft local`: the control plane in local mode, with its CA and service
// registry in a state directory (CA generated on first start, a starter
// registry written if there is none). Runs in the foreground until Ctrl-C.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Command } from "./commands.ts";
import { ensureCa, ensureRegistry, explainStartFailure, localState, runtimeFile } from "./local-state.ts";
import { LocalProcesses, projectModule } from "./local-processes.ts";

const USAGE = `usage: weft local [--state-dir DIR] [--identity-port 8086] [--discovery-port 8087] [--admin-port 9990]
  Runs the control plane in local mode. DIR (default ~/.weft/local) holds ca/ (generated on
  first start) and registry.yaml (the services; edits are picked up while running).`;

function portFlag(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name}: "${text}" is not a port`);
  return n;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
export function levelOf(level: number | string | undefined): number {
  return typeof level === "number" ? level : LEVELS[level ?? ""] ?? 0;
}

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: {
    "state-dir": { type: "string" }, "identity-port": { type: "string", default: "8086" },
    "discovery-port": { type: "string", default: "8087" }, "admin-port": { type: "string", default: "9990" },
  } });
  const ports = { identityPort: portFlag("identity-port", values["identity-port"]), discoveryPort: portFlag("discovery-port", values["discovery-port"]), adminPort: portFlag("admin-port", values["admin-port"]) };
  const state = localState(values["state-dir"] ?? join(homedir(), ".weft", "local"));
  if (!(await ensureCa(state.caDir))) throw new Error(`could not create the CA in ${state.caDir}`);
  if (ensureRegistry(state.registry)) console.log(`wrote a starter registry: ${state.registry}`);
  const children = new LocalProcesses();
  let fatal = "";
  let started = false;
  const cp = children.start("control plane", [
    projectModule("control-plane/src/main"), "--mode", "local", "--issuer-dir", state.caDir, "--registry", state.registry, "--host", "127.0.0.1",
    "--identity-port", String(ports.identityPort), "--discovery-port", String(ports.discoveryPort), "--admin-port", String(ports.adminPort),
  ], {}, (line) => {
    try {
      const j = JSON.parse(line) as { level?: number | string; msg?: string; reason?: string; identityPort?: number; discoveryPort?: number; adminPort?: number };
      const level = levelOf(j.level);
      if (level >= 60) fatal = j.reason ?? j.msg ?? line;
      if (j.msg === "control plane started") {
        started = true;
        mkdirSync(state.runDir, { recursive: true });
        writeFileSync(runtimeFile(state), JSON.stringify({ pid: cp.pid, identityPort: j.identityPort, discoveryPort: j.discoveryPort, adminPort: j.adminPort }));
        console.log(`control plane (local mode) up: identity 127.0.0.1:${j.identityPort}, discovery 127.0.0.1:${j.discoveryPort}, admin http://127.0.0.1:${j.adminPort}/metrics`);
        console.log(`sidecars: --control-plane 127.0.0.1:${j.identityPort} --trust-anchors ${join(state.caDir, "ca.crt")} with WEFT_DISCOVERY_ADDRESS=127.0.0.1:${j.discoveryPort}; tokens: weft identity token --dir ${state.caDir} ...`);
        console.log("Ctrl-C stops it");
      } else if (level >= 40 && level < 60) console.log(`control plane: ${j.msg ?? line}${j.reason ? `: ${j.reason}` : ""}`);
    } catch {
      // not a log line (e.g. grpc-js's own stderr); the fatal log explains failures
    }
  });
  const stop = new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
    cp.proc.once("exit", () => resolve());
  });
  await stop;
  await children.stopAll();
  rmSync(state.runDir, { recursive: true, force: true });
  if (!started || fatal) {
    console.error(`weft local: ${fatal ? explainStartFailure(fatal, ports) : `the control plane exited: ${cp.output().trim().split("\n").at(-1) ?? ""}`}`);
    return 1;
  }
  return 0;
}

export const command: Command = {
  summary: "run the control plane in local mode (CA and registry in a state directory)",
  async run(args: string[]): Promise<number> {
    if (args.includes("--help") || args.includes("-h")) {
      console.log(USAGE);
      return 0;
    }
    try {
      return await run(args);
    } catch (err) {
      console.error(`weft local: ${(err as Error).message}`);
      return 1;
    }
  },
};
