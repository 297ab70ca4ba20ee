// `weft inject [FILE...]`: injects the proxy into Kubernetes YAML offline, the
// way the webhook would (the same injector core), and writes the result to
// stdout; one decision line per pod (template) goes to stderr. Objects it does
// not inject come out byte for byte, and injected ones read the same to
// kubectl's YAML 1.1 as they did (inject-yaml.ts).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { DEFAULT_INJECTOR_CONFIG, parseInjectorConfig, type InjectorConfig } from "../../webhook/src/injector-config.ts";
import type { Command } from "./command.ts";
import { injectYaml } from "./inject-yaml.ts";

const USAGE = `usage: weft inject [--config FILE] [--namespace NS] [--namespace-labels k=v,...] [FILE...|-]

Reads manifests from the files (or stdin), injects the Weft proxy into Pods and
the pod templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs
and CronJobs (also inside Lists), and writes the result to stdout.

  --config FILE              injector configuration (the file the Helm chart writes)
  --namespace NS             namespace of objects that name none (default: default)
  --namespace-labels k=v,... labels of namespaces not defined in the input
                             (default: weft.io/inject=enabled, i.e. inject)`;

function parseLabels(text: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const item of text.split(",").filter((s) => s.trim() !== "")) {
    const eq = item.indexOf("=");
    if (eq <= 0) return undefined;
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function run(args: string[]): Promise<number> {
  let values;
  let files: string[];
  try {
    const parsed = parseArgs({
      args,
      options: { config: { type: "string" }, namespace: { type: "string" }, "namespace-labels": { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    values = parsed.values;
    files = parsed.positionals;
  } catch (err) {
    console.error(`weft inject: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let config: InjectorConfig = DEFAULT_INJECTOR_CONFIG;
  if (values.config) {
    let text: string;
    try {
      text = readFileSync(values.config, "utf8");
    } catch (err) {
      console.error(`weft inject: ${(err as Error).message}`);
      return 1;
    }
    const parsed = parseInjectorConfig(text);
    if (!parsed.ok) {
      console.error(`weft inject: config ${values.config}: ${parsed.message}`);
      return 1;
    }
    config = parsed.value;
  }
  let namespaceLabels: Record<string, string> | undefined;
  if (values["namespace-labels"] !== undefined) {
    namespaceLabels = parseLabels(values["namespace-labels"]);
    if (!namespaceLabels) {
      console.error(`weft inject: --namespace-labels wants k=v,k2=v2`);
      return 2;
    }
  }
  if (files.length === 0) files = ["-"];
  const outputs: string[] = [];
  let failed = false;
  for (const file of files) {
    let text: string;
    try {
      text = file === "-" ? await readStdin() : readFileSync(file, "utf8");
    } catch (err) {
      console.error(`weft inject: ${(err as Error).message}`);
      failed = true;
      continue;
    }
    const result = injectYaml(text, config, { defaultNamespace: values.namespace, namespaceLabels });
    if (!result.ok) {
      console.error(`weft inject: ${file === "-" ? "stdin" : file}: ${result.message}`);
      failed = true;
      continue;
    }
    for (const r of result.value.reports) {
      console.error(`${r.object}: ${r.code}${r.code === "injected" ? "" : ` (${r.message})`}`);
      for (const w of r.warnings) console.error(`  warning: ${w}`);
    }
    // Files are joined with `---`, which must start a line of its own.
    const yaml = result.value.yaml;
    if (yaml.trim() !== "") outputs.push(yaml.endsWith("\n") ? yaml : `${yaml}\n`);
  }
  process.stdout.write(outputs.join("---\n"));
  return failed ? 1 : 0;
}

export const command: Command = { summary: "inject the Weft proxy into Kubernetes YAML (offline)", run };
