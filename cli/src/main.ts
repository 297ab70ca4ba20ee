#!/usr/bin/env node
// The `weft` command. Subcommands register in commands.ts as they land.
import { runCli } from "./commands.ts";

process.exitCode = await runCli(process.argv.slice(2));
