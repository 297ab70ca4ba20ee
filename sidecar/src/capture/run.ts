// One run of the capture init step, shared by `weft-proxy-init` and `weft capture`:
// flags in, iptables changed (or the script printed), an exit code out.
import { createLogger } from "../../../lib/log.ts";
import { applyCapture, dryRunScript, removeCapture } from "./apply.ts";
import { CAPTURE_USAGE, parseCaptureFlags } from "./flags.ts";
import { removeScript } from "./rules.ts";

export function runCapture(argv: string[]): number {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(CAPTURE_USAGE);
    return 0;
  }
  const log = createLogger({ component: "proxy-init" });
  const command = parseCaptureFlags(argv);
  if (!command.ok) {
    log.error({ code: command.code }, command.message);
    console.error(CAPTURE_USAGE);
    return 2;
  }
  const { options, remove, dryRun } = command.value;
  if (dryRun) {
    // Removal's script depends on what is installed; a dry run shows the teardown of a full install.
    process.stdout.write(remove ? (removeScript(dryRunScript(options)) ?? "") : dryRunScript(options));
    return 0;
  }
  if (remove) {
    const removed = removeCapture(options.family);
    if (!removed.ok) {
      log.error({ code: removed.code }, removed.message);
      return 1;
    }
    log.info({ removed: removed.value !== null }, removed.value === null ? "no capture rules were installed" : "capture rules removed");
    return 0;
  }
  const applied = applyCapture(options);
  if (!applied.ok) {
    log.error({ code: applied.code }, applied.message);
    return 1;
  }
  log.info({ options }, "capture rules installed");
  return 0;
}
