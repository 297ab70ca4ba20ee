// Runs the helm binary the test cluster's build makes (test/cluster/build.sh puts it
// next to the Kubernetes binaries), or $WEFT_HELM. Renders the chart into objects.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { kubernetesBinDir } from "../cluster/binaries.ts";

export const CHART = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "charts", "weft");

export function helmBinary(): string | undefined {
  const candidates = [process.env.WEFT_HELM, join(kubernetesBinDir(), "helm")];
  return candidates.find((c): c is string => c !== undefined && c !== "" && existsSync(c));
}

export interface HelmRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function helm(args: string[], env: Record<string, string> = {}): HelmRun {
  const bin = helmBinary();
  if (bin === undefined) throw new Error("helm not found: run test/cluster/build.sh or set WEFT_HELM");
  const r = spawnSync(bin, args, { encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } });
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: (r.error ? `${r.error.message}\n` : "") + (r.stderr ?? "") };
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** `helm template` with the given extra arguments; throws with helm's message on failure. */
export function render(args: string[] = [], namespace = "weft-system"): K8sObject[] {
  const r = helm(["template", "weft", CHART, "-n", namespace, ...args]);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJSON() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (o === undefined) throw new Error(`no ${kind} ${name} rendered (have ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(", ")})`);
  return o;
}
