// `weft completion bash|zsh`: prints a shell completion script.
import type { Command } from "./command.ts";
import { COMMAND_NAMES, completionScript } from "./completion-script.ts";
import { EXIT } from "./exit-codes.ts";

const USAGE = "usage: weft completion bash|zsh   (e.g. source <(weft completion bash))";

export const command: Command = {
  summary: "prints a shell completion script (bash or zsh)",
  async run(args) {
    const [shell, ...rest] = args;
    if ((shell !== "bash" && shell !== "zsh") || rest.length > 0) {
      if (shell === "--help" || shell === "-h") {
        console.log(USAGE);
        return EXIT.ok;
      }
      console.error(`weft completion: ${USAGE}`);
      return EXIT.usage;
    }
    process.stdout.write(completionScript(shell, COMMAND_NAMES));
    return EXIT.ok;
  },
};
