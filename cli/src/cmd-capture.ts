// `weft capture`: writes (or with --remove deletes) the pod's capture rules,
// exactly as the injected init container (weft-proxy-init) does.
import { runCapture } from "../../sidecar/src/capture/run.ts";
import type { Command } from "./command.ts";

export const command: Command = {
  summary: "write or remove the iptables rules that capture a pod's TCP for its proxy",
  run: async (args) => runCapture(args),
};
