// Offline injection of Kubernetes YAML (`weft inject`): multi-document files,
// Lists, Pods and the workloads that hold a pod template. Each pod (template)
// goes through the same injectPod the webhook uses. Offline the namespace's
// labels are unknown: a Namespace object in the same input supplies them,
// otherwise the caller's --namespace-labels do, otherwise the namespace counts
// as enabled (as with `linkerd inject`: running the command is the opt-in).
import type { V1Pod } from "@kubernetes/client-node";
import { parseAllDocuments, stringify } from "yaml";
import { LABELS } from "../../lib/proxy-contract.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import type { DecisionCode, NamespaceInfo } from "./inject-decision.ts";
import type { InjectorConfig } from "./injector-config.ts";
import { injectPod } from "./injector.ts";

export interface ManifestOptions {
  /** Namespace of objects that name none. */
  defaultNamespace?: string;
  /** Labels of namespaces not defined in the input (default: weft.io/inject=enabled). */
  namespaceLabels?: Record<string, string>;
}

export interface ObjectReport {
  /** kind/name (namespace) of the object whose pod (template) was considered. */
  object: string;
  code: DecisionCode;
  message: string;
  warnings: string[];
}

export interface ManifestResult {
  yaml: string;
  reports: ObjectReport[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// Where each kind keeps its pod template.
export const TEMPLATE_PATHS: Record<string, string[]> = {
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  ReplicationController: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};

function getPath(o: Obj, path: string[]): Obj | undefined {
  let cur: unknown = o;
  for (const p of path) cur = isObj(cur) ? cur[p] : undefined;
  return isObj(cur) ? cur : undefined;
}

function setPath(o: Obj, path: string[], value: Obj): Obj {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  const child = o[head];
  return { ...o, [head]: setPath(isObj(child) ? child : {}, rest, value) };
}

function describe(o: Obj, namespace: string): string {
  const meta = isObj(o.metadata) ? o.metadata : {};
  const name = typeof meta.name === "string" ? meta.name : typeof meta.generateName === "string" ? `${meta.generateName}*` : "<unnamed>";
  return `${String(o.kind)}/${name} (${namespace})`;
}

function namespaceOf(o: Obj, options: ManifestOptions): string {
  const meta = isObj(o.metadata) ? o.metadata : {};
  return typeof meta.namespace === "string" && meta.namespace ? meta.namespace : (options.defaultNamespace ?? "default");
}

function stringMap(v: unknown): Record<string, string> {
  if (!isObj(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string"));
}

class Injector {
  readonly reports: ObjectReport[] = [];
  readonly #config: InjectorConfig;
  readonly #options: ManifestOptions;
  readonly #namespaces: Map<string, Record<string, string>>;

  constructor(config: InjectorConfig, options: ManifestOptions, namespaces: Map<string, Record<string, string>>) {
    this.#config = config;
    this.#options = options;
    this.#namespaces = namespaces;
  }

  object(o: Obj): Obj {
    if (o.kind === "List" && Array.isArray(o.items)) {
      return { ...o, items: o.items.map((item) => (isObj(item) ? this.object(item) : item)) };
    }
    const kind = typeof o.kind === "string" ? o.kind : "";
    if (kind === "Pod") return this.#pod(o, o, []);
    const path = TEMPLATE_PATHS[kind];
    if (!path) return o;
    const template = getPath(o, path);
    return template ? this.#pod(o, template, path) : o;
  }

  #pod(owner: Obj, podLike: Obj, path: string[]): Obj {
    const nsName = namespaceOf(owner, this.#options);
    const labels = this.#namespaces.get(nsName) ?? this.#options.namespaceLabels ?? { [LABELS.inject]: "enabled" };
    const namespace: NamespaceInfo = { name: nsName, labels };
    const result = injectPod(podLike as V1Pod, namespace, this.#config);
    const d = result.decision;
    this.reports.push({ object: describe(owner, nsName), code: d.code, message: d.message, warnings: result.warnings });
    if (!d.inject) return owner;
    return path.length === 0 ? (result.pod as Obj) : setPath(owner, path, result.pod as Obj);
  }
}

export function injectManifests(text: string, config: InjectorConfig, options: ManifestOptions = {}): Result<ManifestResult> {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return fail("bad-yaml", "not a YAML stream");
  const values: unknown[] = [];
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length > 0) return fail("bad-yaml", `document ${i + 1}: ${doc.errors[0]?.message.split("\n")[0]}`);
    values.push(doc.toJS());
  }
  const injected = injectValues(values.filter((v) => v !== null && v !== undefined), config, options);
  const yaml = injected.values.map((v) => stringify(v, { lineWidth: 0 })).join("---\n");
  return ok({ yaml, reports: injected.reports });
}

/** The same over documents already parsed (`weft inject` parses them itself): one value out per value in. */
export function injectValues(values: unknown[], config: InjectorConfig, options: ManifestOptions = {}): { values: unknown[]; reports: ObjectReport[] } {
  const namespaces = new Map<string, Record<string, string>>();
  const collect = (v: unknown): void => {
    if (!isObj(v)) return;
    if (v.kind === "List" && Array.isArray(v.items)) v.items.forEach(collect);
    if (v.kind === "Namespace" && isObj(v.metadata) && typeof v.metadata.name === "string") namespaces.set(v.metadata.name, stringMap(v.metadata.labels));
  };
  values.forEach(collect);
  const injector = new Injector(config, options, namespaces);
  return { values: values.map((v) => (isObj(v) ? injector.object(v) : v)), reports: injector.reports };
}
