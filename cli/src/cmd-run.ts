// `weft run`: one workload with its sidecar, against the control plane that
// `weft local` runs, in the same mode as `weft local` (recorded in its
// runtime file). Network-namespace mode (local-run-netns.ts): the command runs
// in its own namespace on the hub with iptables capture and calls Services at
// their ClusterIPs. Loopback mode: the app listens on its own port and calls
// other Services through ports of its sidecar (printed, and given to the app
// as WEFT_SERVICE_<NAME>). The first line says which mode and why.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { mintLocalToken, readLocalTokenKey } from "../../control-plane/src/identity-verifier-local-token.ts";
import { readRegistryFile } from "../../control-plane/src/source-registry-file.ts";
import { DEFAULT_TRUST_DOMAIN, formatSpiffeId, validateIdentity } from "../../lib/spiffe.ts";
import { defineCommand, type Command } from "./command.ts";
import { freePorts } from "../../lib/free-ports.ts";
import { LocalProcesses, projectModule, untilWorkloadEnds } from "./local-processes.ts";
import { chooseRunMode, netnsUnavailableHint, parseModeFlag } from "./local-mode.ts";
import { probeNetns } from "./local-netns.ts";
import { planArgs, planEnv, planRun } from "./local-run-plan.ts";
import { localState, parseRuntime, runtimeFile } from "./local-state.ts";

const USAGE = `usage: weft run --name SA [--namespace NS] [--mode auto|netns|loopback] [--app-port N] [--admin-port N]
                [--address IP] [--state-dir DIR] -- COMMAND [ARGS...]
  Starts COMMAND with a sidecar, as identity spiffe://cluster.local/ns/NS/sa/SA (NS default "default"),
  against the control plane of \`weft local\` (same --state-dir, default ~/.weft/local), in its mode.
  Network-namespace mode (weft local runs in it; root): COMMAND runs in its own namespace at the
  registry endpoint address of this identity (or --address), calls Services at their ClusterIPs,
  and is called on its own ports; capture does the rest.
  Loopback mode: the registry's endpoints of this identity at 127.0.0.1 name the ports the sidecar
  listens on for other sidecars; requests go to the app on --app-port (required).`;

class RunError extends Error {}

async function run(args: string[]): Promise<number> {
  const dash = args.indexOf("--");
  const appCommand = dash >= 0 ? args.slice(dash + 1) : [];
  const { values } = parseArgs({ args: dash >= 0 ? args.slice(0, dash) : args, strict: true, options: {
    name: { type: "string" }, namespace: { type: "string", default: "default" }, "app-port": { type: "string" },
    "admin-port": { type: "string", default: "0" }, "state-dir": { type: "string" }, mode: { type: "string" }, address: { type: "string" },
  } });
  if (!values.name) throw new RunError("--name (the workload's service account) is required");
  if (appCommand.length === 0) throw new RunError("give the application's command after --");
  const request = parseModeFlag(values.mode);
  if (!request.ok) throw new RunError(request.message);
  // Before anything else: forcing netns without its privileges is the user's first problem to fix.
  let probed: ReturnType<typeof probeNetns> | undefined;
  const probe = (): ReturnType<typeof probeNetns> => (probed ??= probeNetns());
  if (request.value === "netns" && !probe().ok) {
    const p = probe();
    if (!p.ok) throw new RunError(netnsUnavailableHint(p.code, p.message));
  }
  const id = validateIdentity({ trustDomain: DEFAULT_TRUST_DOMAIN, namespace: values.namespace, serviceAccount: values.name });
  if (!id.ok) throw new RunError(id.message);
  const state = localState(values["state-dir"] ?? join(homedir(), ".weft", "local"));
  const runtime = existsSync(runtimeFile(state)) ? parseRuntime(readFileSync(runtimeFile(state), "utf8")) : undefined;
  if (!runtime) throw new RunError(`no local control plane is running for ${state.dir}; start \`weft local --state-dir ${state.dir}\` first`);
  const choice = chooseRunMode(request.value, runtime.mode, probe);
  if (!choice.ok) throw new RunError(choice.message);
  const model = await readRegistryFile(state.registry, DEFAULT_TRUST_DOMAIN);
  if (!model.ok) throw new RunError(`${model.message} — fix the registry file`);
  const identity = formatSpiffeId(id.value);
  const key = readLocalTokenKey(join(state.caDir, "local-token.key"));
  if (!key.ok) throw new RunError(key.message);
  const token = mintLocalToken(key.value, { namespace: values.namespace, serviceAccount: values.name, ttlMs: 24 * 3_600_000 });
  if (choice.value.mode === "netns") {
    const { runNetns, NetnsRunError } = await import("./local-run-netns.ts");
    try {
      return await runNetns({
        runtime, model: model.value, identity, namespace: values.namespace, serviceAccount: values.name, why: choice.value.why, address: values.address,
        anchorsFile: join(state.caDir, "ca.crt"), token, registryPath: state.registry, command: appCommand,
      });
    } catch (err) {
      if (err instanceof NetnsRunError) {
        if (err.message === "stopped") return 0;
        throw new RunError(err.message);
      }
      throw err;
    }
  }
  const cp = runtime;
  const appPort = Number(values["app-port"]);
  if (!Number.isInteger(appPort) || appPort < 1 || appPort > 65535) throw new RunError(`--app-port: "${values["app-port"] ?? ""}" is not a port (loopback mode needs the app's port)`);
  const plan = planRun(model.value, identity, appPort, () => 0);
  const ports = await freePorts(plan.outbound.length);
  plan.outbound.forEach((o, i) => (o.listenPort = ports[i]!));
  mkdirSync(state.runDir, { recursive: true });
  const tokenFile = join(state.runDir, `${values.namespace}.${values.name}.${process.pid}.token`);
  writeFileSync(tokenFile, token, { mode: 0o600 });

  console.log(`loopback mode (${choice.value.why}): ${identity}`);
  if (plan.inboundApp.length === 0) console.log(`no endpoint of ${identity} at 127.0.0.1 in ${state.registry}: other workloads cannot call this one`);
  for (const i of plan.inboundApp) console.log(`inbound: sidecar 127.0.0.1:${i.listenPort} (mTLS) -> app 127.0.0.1:${i.appPort}`);
  for (const o of plan.outbound) console.log(`reach ${o.service}${o.portName ? ` (${o.portName})` : ""} at 127.0.0.1:${o.listenPort}`);

  const children = new LocalProcesses();
  const sidecar = children.start("sidecar", [
    projectModule("sidecar/src/main"), "--control-plane", `127.0.0.1:${cp.identityPort}`, "--identity-token-file", tokenFile,
    "--trust-anchors", join(state.caDir, "ca.crt"), "--listen-host", "127.0.0.1", "--inbound-port", "0", "--outbound-port", "0",
    "--admin-port", values["admin-port"], "--workload", values.name, "--log-level", "warn", ...planArgs(plan),
  ], { WEFT_POD_NAMESPACE: values.namespace, WEFT_SERVICE_ACCOUNT: values.name, WEFT_DISCOVERY_ADDRESS: `127.0.0.1:${cp.discoveryPort}` });
  const [cmd, ...rest] = appCommand;
  const app = children.startCommand("app", cmd!, rest, planEnv(plan));
  const code = await untilWorkloadEnds(sidecar, app, (stop) => {
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await children.stopAll();
  return code;
}

export const command: Command = defineCommand({
  name: "run",
  summary: "run one workload with its sidecar against `weft local`",
  usage: USAGE,
  run,
  exitCodeOf: (err) => (err instanceof RunError ? 2 : undefined),
});
