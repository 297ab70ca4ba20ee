#!/usr/bin/env node
// weft-cni-agent: the container of the weft-cni DaemonSet. Flags name the
// node's CNI bin and conf dirs (mounted at the same paths as on the host);
// the apiserver address and credentials come from the pod's ServiceAccount.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { systemClock } from "../../lib/clock.ts";
import { createLogger } from "../../lib/log.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { Shutdown } from "../../lib/shutdown.ts";
import { CniAgent } from "./agent.ts";
import type { ApiAccess } from "./install.ts";

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
export const DEFAULT_STATUS_FILE = "/run/weft-cni/in-chain";

const log = createLogger({ component: "cni-agent" });

function flags(): Result<{ binDir: string; confDir: string; statusFile: string; resyncMs: number }> {
  try {
    const { values } = parseArgs({
      strict: true,
      options: {
        "bin-dir": { type: "string" },
        "conf-dir": { type: "string" },
        "status-file": { type: "string", default: DEFAULT_STATUS_FILE },
        "resync-seconds": { type: "string", default: "10" },
      },
    });
    if (!values["bin-dir"] || !values["conf-dir"]) return fail("bad-flag", "--bin-dir and --conf-dir are required");
    const resync = Number(values["resync-seconds"]);
    if (!Number.isFinite(resync) || resync <= 0) return fail("bad-flag", `--resync-seconds: "${values["resync-seconds"]}" is not a positive number`);
    return ok({ binDir: values["bin-dir"], confDir: values["conf-dir"], statusFile: values["status-file"], resyncMs: resync * 1000 });
  } catch (error) {
    return fail("bad-flag", (error as Error).message);
  }
}

function apiAccess(): Result<ApiAccess> {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? "443";
  if (!host) return fail("no-apiserver", "KUBERNETES_SERVICE_HOST is not set");
  if (!existsSync(`${SA_DIR}/token`)) return fail("no-token", `${SA_DIR}/token is missing`);
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return ok({ server, caPem: readFileSync(`${SA_DIR}/ca.crt`, "utf8"), token: readFileSync(`${SA_DIR}/token`, "utf8").trim() });
}

const parsed = flags();
if (!parsed.ok) {
  log.error({ code: parsed.code }, parsed.message);
  process.exit(2);
}
const agent = new CniAgent({
  ...parsed.value,
  source: { nodeBinary: process.execPath, appRoot: fileURLToPath(new URL("../../..", import.meta.url)) },
  apiAccess,
  clock: systemClock,
  log,
});
const shutdown = new Shutdown({ logger: log, deadlineMs: 20_000 });
shutdown.add("cni-agent", () => agent.stop());
shutdown.listen();
agent.start();
// Keep the process alive: the timers are unref'd (lib/clock.ts), the watch is not needed for that.
setInterval(() => undefined, 1 << 30);
