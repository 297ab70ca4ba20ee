// `weft inject`'s YAML in and out. kubectl reads YAML 1.1, so the input is
// parsed as YAML 1.1 and the output must mean the same under it: a document the
// injector leaves alone is written back byte for byte (its slice of the input,
// with its comments and `---`), and one it changes is written from its own
// parse tree, edited only where the pod changed (inject-yaml-edit.ts). Pods
// the webhook would call invalid are refused here with a one-line reason
// rather than handed to the injector, which assumes the webhook's checks.
import { isDeepStrictEqual } from "node:util";
import { parseAllDocuments, type Document } from "yaml";
import { fail, ok, type Result } from "../../lib/result.ts";
import { validPod } from "../../webhook/src/admission.ts";
import { injectValues, TEMPLATE_PATHS, type ManifestOptions, type ManifestResult } from "../../webhook/src/inject-manifests.ts";
import type { InjectorConfig } from "../../webhook/src/injector-config.ts";
import { editNode, expandAliases, sourcePreservingTags } from "./inject-yaml-edit.ts";

export type InjectYamlCode = "bad-yaml" | "invalid-pod" | "injection-failed";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

const INVALID_POD =
  "is not a pod the webhook would inject (invalid-pod): spec.containers must be a non-empty list of named containers, " +
  "spec.initContainers and spec.volumes lists, labels and annotations strings";

/** The first pod (template) in `value` that fails the webhook's invalid-pod rule, as a message. */
function invalidPod(value: unknown): string | undefined {
  if (!isObj(value)) return undefined;
  if (value.kind === "List" && Array.isArray(value.items)) {
    for (const [i, item] of value.items.entries()) {
      const why = invalidPod(item);
      if (why !== undefined) return `items[${i}]: ${why}`;
    }
    return undefined;
  }
  const kind = typeof value.kind === "string" ? value.kind : "";
  const meta = isObj(value.metadata) ? value.metadata : {};
  const name = `${kind}/${typeof meta.name === "string" ? meta.name : "<unnamed>"}`;
  if (kind === "Pod") return validPod(value) ? undefined : `${name} ${INVALID_POD}`;
  const path = TEMPLATE_PATHS[kind];
  if (!path) return undefined;
  let template: unknown = value;
  for (const key of path) template = isObj(template) ? template[key] : undefined;
  // No template at all is left to the apiserver, as the injector leaves it.
  if (!isObj(template) || validPod(template)) return undefined;
  return `${name}: ${path.join(".")} ${INVALID_POD}`;
}

function render(doc: Document, before: unknown, after: unknown): string {
  expandAliases(doc);
  doc.contents = editNode(doc, doc.contents, before, after);
  return doc.toString({ lineWidth: 0 });
}

/** Injects the pods in a YAML stream, changing nothing else in it (see the header). */
export function injectYaml(text: string, config: InjectorConfig, options: ManifestOptions = {}): Result<ManifestResult, InjectYamlCode> {
  const docs = parseAllDocuments(text, { version: "1.1", customTags: sourcePreservingTags });
  const values: unknown[] = [];
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length > 0) return fail("bad-yaml", `document ${i + 1}: ${doc.errors[0]?.message.split("\n")[0]}`);
    try {
      values.push(doc.toJS());
    } catch (err) {
      // toJS refuses alias bombs (more than 100 expansions of one alias).
      return fail("bad-yaml", `document ${i + 1}: ${(err as Error).message.split("\n")[0]}`);
    }
    const why = invalidPod(values[i]);
    if (why !== undefined) return fail("invalid-pod", `document ${i + 1}: ${why}`);
  }
  let injected: ReturnType<typeof injectValues>;
  try {
    injected = injectValues(values, config, options);
  } catch (err) {
    // The webhook answers the same with injection-failed: input past the
    // invalid-pod rule that the injector still cannot take is a one-line error.
    return fail("injection-failed", `the injector failed on this input: ${(err as Error).message.split("\n")[0]}`);
  }
  let out = "";
  let pos = 0;
  for (const [i, doc] of docs.entries()) {
    const end = doc.range[2];
    // A changed document is written whole: its text from the end of the one
    // before is only comments and directives, which the document holds too.
    out += isDeepStrictEqual(values[i], injected.values[i]) ? text.slice(pos, end) : render(doc, values[i], injected.values[i]);
    pos = end;
  }
  out += text.slice(pos);
  return ok({ yaml: out, reports: injected.reports });
}
