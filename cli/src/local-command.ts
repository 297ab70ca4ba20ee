// `weft local`: the control plane in local mode, with its CA and service
// registry in a state directory (CA generated on first start, a starter
// registry written if there is none). Runs in the foreground until Ctrl-C.
// In network-namespace mode (root, `ip netns`; see local-netns.ts) the control
// plane runs inside a hub namespace that `weft run` workloads join; the
// runtime file records the mode and the hub.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { defineCommand, type Command } from "./command.ts";
import { ensureCa, ensureRegistry, explainStartFailure, localState, runtimeFile, type LocalRuntime } from "./local-state.ts";
import { LocalProcesses, projectModule } from "./local-processes.ts";
import { chooseMode, parseModeFlag } from "./local-mode.ts";
import { LocalNetns, probeNetns, sweepStale } from "./local-netns.ts";
import { inNamespace, SUBNET_BITS, SUBNET_PREFIX, type HubPlan } from "./local-netns-plan.ts";
import { ok } from "../../lib/result.ts";

const USAGE = `usage: weft local [--mode auto|netns|loopback] [--state-dir DIR] [--identity-port 8086] [--discovery-port 8087] [--admin-port 9990]
  Runs the control plane in local mode. DIR (default ~/.weft/local) holds ca/ (generated on
  first start) and registry.yaml (the services; edits are picked up while running).
  --mode netns: the control plane runs in a hub network namespace (root); \`weft run\` puts each
  workload in its own namespace on the hub with iptables capture. loopback: everything on
  127.0.0.1 ports (no root). auto (default): netns when running as root and \`ip netns\` works.`;

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
    "discovery-port": { type: "string", default: "8087" }, "admin-port": { type: "string", default: "9990" }, mode: { type: "string" },
  } });
  const request = parseModeFlag(values.mode);
  if (!request.ok) throw new Error(request.message);
  const ports = { identityPort: portFlag("identity-port", values["identity-port"]), discoveryPort: portFlag("discovery-port", values["discovery-port"]), adminPort: portFlag("admin-port", values["admin-port"]) };
  const state = localState(values["state-dir"] ?? join(homedir(), ".weft", "local"));
  const choice = chooseMode(request.value, request.value === "loopback" ? ok(undefined) : probeNetns());
  if (!choice.ok) throw new Error(choice.message);
  if (!(await ensureCa(state.caDir))) throw new Error(`could not create the CA in ${state.caDir}`);
  if (ensureRegistry(state.registry)) console.log(`wrote a starter registry: ${state.registry}`);
  let net: LocalNetns | undefined;
  let hub: HubPlan | undefined;
  if (choice.value.mode === "netns") {
    const swept = await sweepStale();
    if (swept.length > 0) console.log(`removed namespaces left by a previous run that was killed: ${swept.join(", ")}`);
    net = new LocalNetns();
    const made = net.createHub();
    if (!made.ok) {
      await net.destroy();
      throw new Error(`${made.message} (or use --mode loopback)`);
    }
    hub = made.value;
    console.log(`network-namespace mode (${choice.value.why}): the control plane runs in namespace ${hub.ns} on ${hub.address}; \`weft run\` puts each workload in its own namespace on ${SUBNET_PREFIX}.0/${SUBNET_BITS}`);
  } else console.log(`loopback mode (${choice.value.why}): the control plane and \`weft run\` workloads use 127.0.0.1 ports`);
  const host = hub?.address ?? "127.0.0.1";
  const children = new LocalProcesses();
  let fatal = "";
  let started = false;
  const cpArgs = [
    projectModule("control-plane/src/main"), "--mode", "local", "--issuer-dir", state.caDir, "--registry", state.registry, "--host", host,
    "--identity-port", String(ports.identityPort), "--discovery-port", String(ports.discoveryPort), "--admin-port", String(ports.adminPort),
  ];
  const cp = children.startProgram("control plane", hub ? inNamespace(hub.ns, process.execPath, cpArgs) : [process.execPath, ...cpArgs], {}, (line) => {
    try {
      const j = JSON.parse(line) as { level?: number | string; msg?: string; reason?: string; identityPort?: number; discoveryPort?: number; adminPort?: number };
      const level = levelOf(j.level);
      if (level >= 60) fatal = j.reason ?? j.msg ?? line;
      if (j.msg === "control plane started") {
        started = true;
        mkdirSync(state.runDir, { recursive: true });
        const runtime: LocalRuntime = { pid: cp.pid, mode: choice.value.mode, host, identityPort: j.identityPort ?? 0, discoveryPort: j.discoveryPort ?? 0, adminPort: j.adminPort ?? 0, ...(hub ? { hub: hub.ns } : {}) };
        writeFileSync(runtimeFile(state), JSON.stringify(runtime));
        console.log(`control plane (local mode) up: identity ${host}:${j.identityPort}, discovery ${host}:${j.discoveryPort}, admin http://${host}:${j.adminPort}/metrics${hub ? ` (inside ${hub.ns})` : ""}`);
        if (hub) console.log(`workloads: weft run --state-dir ${state.dir} --name SA [--namespace NS] -- COMMAND; in ${state.registry} give their endpoints addresses in ${SUBNET_PREFIX}.2-254 and the app's ports`);
        else console.log(`sidecars: --control-plane 127.0.0.1:${j.identityPort} --trust-anchors ${join(state.caDir, "ca.crt")} with WEFT_DISCOVERY_ADDRESS=127.0.0.1:${j.discoveryPort}; tokens: weft identity token --dir ${state.caDir} ...`);
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
  await net?.destroy();
  rmSync(state.runDir, { recursive: true, force: true });
  if (!started || fatal) {
    console.error(`weft local: ${fatal ? explainStartFailure(fatal, ports) : `the control plane exited: ${cp.output().trim().split("\n").at(-1) ?? ""}`}`);
    return 1;
  }
  return 0;
}

export const command: Command = defineCommand({
  name: "local",
  summary: "run the control plane in local mode (CA and registry in a state directory)",
  usage: USAGE,
  run,
});
