// `weft check [--pre]`: whether the cluster can run Weft (--pre, before install) and
// whether an installed Weft is healthy, one ✔/✘ line per check with a hint.
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { runChecks } from "./check-gather.ts";
import { exitCode, formatResults } from "./check-results.ts";
import type { Command } from "./command.ts";

const USAGE = "usage: weft check [--pre] [--kubeconfig FILE] [-n weft-system] [-o text|json]";

export const command: Command = {
  summary: "checks that the cluster can run Weft (--pre) and that Weft is healthy",
  async run(args: string[]): Promise<number> {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        strict: true,
        options: {
          pre: { type: "boolean", default: false },
          kubeconfig: { type: "string" },
          namespace: { type: "string", short: "n", default: "weft-system" },
          output: { type: "string", short: "o", default: "text" },
        },
      }));
    } catch (err) {
      console.error(`weft check: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
      return 2;
    }
    if (values.output !== "text" && values.output !== "json") {
      console.error(`weft check: -o must be text or json\n${USAGE}`);
      return 2;
    }
    const kc = new KubeConfig();
    let results;
    try {
      if (values.kubeconfig !== undefined) kc.loadFromFile(values.kubeconfig);
      else kc.loadFromDefault();
      results = await runChecks(kc, values.namespace, values.pre);
    } catch (err) {
      // A check that could not even be asked (unreadable kubeconfig, a review refused): a message and exit 1, not a stack.
      console.error(`weft check: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
      return 1;
    }
    console.log(values.output === "json" ? JSON.stringify({ ok: exitCode(results) === 0, checks: results }, null, 2) : formatResults(results));
    return exitCode(results);
  },
};
