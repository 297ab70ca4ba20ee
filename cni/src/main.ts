#!/usr/bin/env node
// weft-cni: the chained CNI plugin the DaemonSet installs into the node's CNI
// bin dir. The container runtime runs it once per sandbox command; this shell
// reads the environment and stdin, calls the pure handler, and writes the
// result or a CNI error object on stdout (exit 1 on error). Nothing here logs
// to stdout: the runtime parses it.
import { readFileSync } from "node:fs";
import { applyCapture, readNatTable } from "../../sidecar/src/capture/apply.ts";
import { captureInstalled } from "../../sidecar/src/capture/rules.ts";
import { cniError, parseRequest, versionOf } from "./cni-spec.ts";
import { readPod } from "./kube-pod.ts";
import { handle, type PluginDeps } from "./plugin.ts";
import { ok } from "../../lib/result.ts";

const deps: PluginDeps = {
  readPod,
  applyCapture: (options, netns) => applyCapture(options, { netns }),
  captureInstalled: (family, netns) => {
    const save = readNatTable(family, { netns });
    return save.ok ? ok(captureInstalled(save.value)) : save;
  },
};

// The runtime's environment may lack the sbin dirs nsenter and iptables live in.
process.env.PATH = [process.env.PATH, "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"].filter(Boolean).join(":");

async function main(): Promise<number> {
  let stdin = "";
  try {
    stdin = readFileSync(0, "utf8");
  } catch {
    stdin = "";
  }
  const version = versionOf(stdin);
  const request = parseRequest(process.env, stdin);
  if (!request.ok) {
    process.stdout.write(JSON.stringify(cniError(version, Number(request.code), request.message)) + "\n");
    return 1;
  }
  const outcome = await handle(request.value, deps);
  if (!outcome.ok) {
    process.stdout.write(JSON.stringify(cniError(version, Number(outcome.code), outcome.message)) + "\n");
    process.stderr.write(outcome.message + "\n");
    return 1;
  }
  if (outcome.value !== null) process.stdout.write(JSON.stringify(outcome.value) + "\n");
  return 0;
}

process.exitCode = await main().catch((error: unknown) => {
  process.stdout.write(JSON.stringify(cniError(versionOf(""), 999, `weft-cni: ${error instanceof Error ? error.message : String(error)}`)) + "\n");
  return 1;
});
