// The shape of one `weft` subcommand. It lives apart from commands.ts (the
// table that lazily imports every cmd-*.ts) so a command module can name its
// own type without importing the table that imports it.
export interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}

export interface CommandSpec {
  /** As the user types it after `weft`, for error messages ("run", "local"). */
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
  /**
   * The exit code for an error the command threw, or undefined for the
   * default: 1, with the message printed as `weft NAME: message`.
   */
  exitCodeOf?(err: unknown): number | undefined;
}

/** A command that prints its usage on --help and turns a thrown error into a message and an exit code. */
export function defineCommand(spec: CommandSpec): Command {
  return {
    summary: spec.summary,
    async run(args: string[]): Promise<number> {
      if (args.includes("--help") || args.includes("-h")) {
        console.log(spec.usage);
        return 0;
      }
      try {
        return await spec.run(args);
      } catch (err) {
        const quiet = spec.exitCodeOf?.(err);
        if (quiet === 0) return 0;
        console.error(`weft ${spec.name}: ${err instanceof Error ? err.message : String(err)}`);
        return quiet ?? 1;
      }
    },
  };
}
