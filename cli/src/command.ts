// The shape of one `weft` subcommand. It lives apart from commands.ts (the
// table that lazily imports every cmd-*.ts) so a command module can name its
// own type without importing the table that imports it.
export interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}
