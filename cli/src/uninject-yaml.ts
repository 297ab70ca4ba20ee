// `weft uninject`'s YAML in and out: every pod, pod template and List item in
// a multi-document stream is uninjected (uninject-pod.ts); a document with
// nothing of Weft's is written back byte for byte.
import { isDeepStrictEqual } from "node:util";
import { parseAllDocuments, stringify } from "yaml";
import { fail, ok, type Result } from "../../lib/result.ts";
import { TEMPLATE_PATHS } from "../../webhook/src/inject-manifests.ts";
import { uninjectPod } from "./uninject-pod.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export function uninjectValue(value: unknown): unknown {
  if (!isObj(value)) return value;
  if (value.kind === "List" && Array.isArray(value.items)) return { ...value, items: value.items.map(uninjectValue) };
  if (value.kind === "Pod") return uninjectPod(value);
  const path = typeof value.kind === "string" ? TEMPLATE_PATHS[value.kind] : undefined;
  if (!path) return value;
  const rebuild = (o: unknown, i: number): unknown => {
    if (!isObj(o)) return o;
    const key = path[i] as string;
    if (!(key in o)) return o;
    return { ...o, [key]: i === path.length - 1 ? (isObj(o[key]) ? uninjectPod(o[key]) : o[key]) : rebuild(o[key], i + 1) };
  };
  return rebuild(value, 0);
}

export function uninjectYaml(text: string): Result<{ yaml: string; changed: number }, "bad-yaml"> {
  const docs = parseAllDocuments(text, { version: "1.1" });
  let out = "";
  let pos = 0;
  let changed = 0;
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length > 0) return fail("bad-yaml", `document ${i + 1}: ${doc.errors[0]?.message.split("\n")[0]}`);
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (err) {
      return fail("bad-yaml", `document ${i + 1}: ${(err as Error).message.split("\n")[0]}`);
    }
    const end = doc.range[2];
    const after = uninjectValue(value);
    if (isDeepStrictEqual(after, value)) {
      out += text.slice(pos, end);
    } else {
      changed++;
      // A changed document is written whole from its value: Weft's additions were the injector's own text anyway.
      out += `${i > 0 ? "---\n" : ""}${stringify(after, { lineWidth: 0 })}`;
    }
    pos = end;
  }
  out += text.slice(pos);
  return ok({ yaml: out, changed });
}
