// `weft uninject [-f FILE | FILE... | -]`: removes what `weft inject` (or the
// webhook) added to manifests, writing the result to stdout (uninject-yaml.ts).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Command } from "./command.ts";
import { EXIT } from "./exit-codes.ts";
import { uninjectYaml } from "./uninject-yaml.ts";

const USAGE = `usage: weft uninject [-f FILE]... [FILE...|-]

Reads manifests (YAML, several documents allowed) from the files or stdin and
writes them to stdout without Weft's proxy: its containers, volumes, label and
annotation go, and rewritten probes get their original targets back.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export const command: Command = {
  summary: "removes the Weft proxy from Kubernetes YAML (the inverse of inject)",
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({ args, allowPositionals: true, strict: true, options: { filename: { type: "string", short: "f", multiple: true }, help: { type: "boolean", short: "h" } } });
    } catch (err) {
      console.error(`weft uninject: ${(err as Error).message}\n\n${USAGE}`);
      return EXIT.usage;
    }
    if (parsed.values.help) {
      console.log(USAGE);
      return EXIT.ok;
    }
    const files = [...(parsed.values.filename ?? []), ...parsed.positionals];
    let text = "";
    try {
      const texts = files.length === 0 ? [await readStdin()] : await Promise.all(files.map((f) => (f === "-" ? readStdin() : readFileSync(f, "utf8"))));
      // Files are joined as separate documents, as kubectl apply -f a -f b reads them.
      text = texts.map((t) => (t.endsWith("\n") || t === "" ? t : `${t}\n`)).join("---\n");
    } catch (err) {
      console.error(`weft uninject: ${(err as Error).message.split("\n")[0]}`);
      return EXIT.error;
    }
    const result = uninjectYaml(text);
    if (!result.ok) {
      console.error(`weft uninject: ${result.message}`);
      return EXIT.error;
    }
    process.stdout.write(result.value.yaml);
    return EXIT.ok;
  },
};
