// kubectl's conventions for every command that reads the cluster: --kubeconfig,
// --context, -n/--namespace, -A/--all-namespaces and -o. Parsed once into one
// typed value; the kubeconfig is loaded from it at the I/O edge.
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { fail, ok, type Result } from "../../lib/result.ts";

export const OUTPUT_FORMATS = ["table", "wide", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
  /** Undefined: the kubeconfig context's namespace, else "default". */
  namespace?: string;
  allNamespaces: boolean;
  output: OutputFormat;
}

export const KUBE_OPTIONS = {
  kubeconfig: { type: "string" },
  context: { type: "string" },
  namespace: { type: "string", short: "n" },
  "all-namespaces": { type: "boolean", short: "A", default: false },
  output: { type: "string", short: "o", default: "table" },
} as const satisfies ParseArgsOptionsConfig;

/** The flags kubectl users type, documented once for every command's usage line. */
export const KUBE_USAGE = "[--kubeconfig FILE] [--context NAME] [-n NAMESPACE] [-o table|wide|json|yaml]";

export interface ParsedArgs {
  kube: KubeFlags;
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
}

/** Exit code 2 territory: a usage error comes back as a reason, never thrown. */
export function parseKubeArgs(args: string[], extra: ParseArgsOptionsConfig = {}): Result<ParsedArgs, "usage"> {
  let parsed;
  try {
    parsed = parseArgs({ args, strict: true, allowPositionals: true, options: { ...KUBE_OPTIONS, ...extra } });
  } catch (err) {
    return fail("usage", (err as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const output = v.output as string;
  if (!(OUTPUT_FORMATS as readonly string[]).includes(output)) return fail("usage", `-o must be one of ${OUTPUT_FORMATS.join(", ")}, not "${output}"`);
  const str = (k: string): string | undefined => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  return ok({
    kube: { kubeconfig: str("kubeconfig"), context: str("context"), namespace: str("namespace"), allNamespaces: v["all-namespaces"] === true, output: output as OutputFormat },
    positionals: parsed.positionals,
    values: v,
  });
}

export function loadKubeConfig(flags: KubeFlags): KubeConfig {
  const kc = new KubeConfig();
  if (flags.kubeconfig !== undefined) kc.loadFromFile(flags.kubeconfig);
  else kc.loadFromDefault();
  if (flags.context !== undefined) {
    if (!kc.getContextObject(flags.context)) throw new Error(`context "${flags.context}" is not in the kubeconfig`);
    kc.setCurrentContext(flags.context);
  }
  return kc;
}

/** -n, else the context's namespace, else "default", as kubectl picks it. */
export function namespaceOf(kc: KubeConfig, flags: KubeFlags): string {
  return flags.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
}
