// The shell every cluster-reading command shares: kubectl's flags parsed,
// --help, the kubeconfig loaded, and thrown errors turned into one line on
// stderr and a documented exit code (exit-codes.ts). A command's own run gets
// parsed flags, the KubeConfig and a writer for stdout.
import type { ParseArgsOptionsConfig } from "node:util";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Command } from "./command.ts";
import { EXIT, UsageError } from "./exit-codes.ts";
import { loadKubeConfig, parseKubeArgs, type ParsedArgs } from "./kube-flags.ts";
import { NotFoundError } from "./kube-pods.ts";

export interface KubeCommandSpec {
  name: string;
  summary: string;
  usage: string;
  options?: ParseArgsOptionsConfig;
  run(args: ParsedArgs, kc: KubeConfig, out: (text: string) => void): Promise<number>;
}

/** What an apiserver refusal says, so a user without RBAC learns which permission is missing. */
function messageOf(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  const body = typeof e.body === "string" ? e.body : "";
  const apiMessage = /"message":"([^"]+)"/.exec(body)?.[1];
  if (e.code === 403) return `forbidden: ${apiMessage ?? "the apiserver refused"} (see docs/cli.md for the RBAC each command needs)`;
  return (apiMessage ?? e.message ?? String(err)).split("\n")[0] ?? "";
}

export function runKubeCommand(spec: KubeCommandSpec): Command {
  return {
    summary: spec.summary,
    async run(args) {
      if (args.includes("--help") || args.includes("-h")) {
        console.log(spec.usage);
        return EXIT.ok;
      }
      const parsed = parseKubeArgs(args, spec.options);
      if (!parsed.ok) {
        console.error(`weft ${spec.name}: ${parsed.message}\n${spec.usage}`);
        return EXIT.usage;
      }
      try {
        const kc = loadKubeConfig(parsed.value.kube);
        return await spec.run(parsed.value, kc, (text) => process.stdout.write(text));
      } catch (err) {
        if (err instanceof UsageError) {
          console.error(`weft ${spec.name}: ${err.message}\n${spec.usage}`);
          return EXIT.usage;
        }
        console.error(`weft ${spec.name}: ${messageOf(err)}`);
        return err instanceof NotFoundError ? EXIT.notFound : EXIT.error;
      }
    },
  };
}
