// The node's CNI configuration list, edited as data: which file the runtime
// uses, and that file with the weft-cni entry appended after the plugins
// already there (chained after the primary plugin, which set up the
// interface) or taken out again. Pure: text in, text out.
import { fail, ok, type Result } from "../../lib/result.ts";

export const PLUGIN_TYPE = "weft-cni";

export interface PluginEntry {
  type: typeof PLUGIN_TYPE;
  kubeconfig: string;
}

export interface Edit {
  text: string;
  changed: boolean;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The file the runtime loads: containerd and CRI-O take the lexically first
 * .conf/.conflist/.json of the conf dir. Only a .conflist can chain plugins;
 * a single-plugin .conf first in line is a reason, not a guess.
 */
export function pickConflist(fileNames: string[]): Result<string> {
  const candidates = fileNames.filter((f) => /\.(conf|conflist|json)$/.test(f) && !f.startsWith(".")).sort();
  const chosen = candidates[0];
  if (chosen === undefined) return fail("no-conflist", "the CNI conf dir holds no .conf, .conflist or .json file yet (is the primary CNI installed?)");
  if (!chosen.endsWith(".conflist")) return fail("not-a-conflist", `${chosen} is the runtime's network configuration, and only a .conflist can chain weft-cni after the primary plugin`);
  return ok(chosen);
}

function parseList(text: string): Result<{ doc: Json; plugins: unknown[] }> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    return fail("bad-conflist", `not JSON: ${(error as Error).message}`);
  }
  if (!isObject(doc) || !Array.isArray(doc.plugins)) return fail("bad-conflist", "no \"plugins\" list");
  return ok({ doc, plugins: doc.plugins });
}

/** The indentation the file was written with, so a rewritten file reads like the original. */
function indentOf(text: string): string | number {
  const m = /\n([ \t]+)"/.exec(text);
  return m?.[1] ?? (text.includes("\n") ? 2 : 0);
}

function serialize(doc: Json, like: string): string {
  const out = JSON.stringify(doc, null, indentOf(like));
  return like.endsWith("\n") ? out + "\n" : out;
}

const isOurs = (p: unknown): boolean => isObject(p) && p.type === PLUGIN_TYPE;

export function hasPlugin(text: string, entry?: PluginEntry): boolean {
  const list = parseList(text);
  if (!list.ok) return false;
  const ours = list.value.plugins.filter(isOurs);
  return ours.length === 1 && (entry === undefined || JSON.stringify(ours[0]) === JSON.stringify(entry)) && isOurs(list.value.plugins[list.value.plugins.length - 1]);
}

/** The list with exactly one weft-cni entry, last. Unchanged when it already is. */
export function insertPlugin(text: string, entry: PluginEntry): Result<Edit> {
  if (hasPlugin(text, entry)) return ok({ text, changed: false });
  const list = parseList(text);
  if (!list.ok) return list;
  const plugins = [...list.value.plugins.filter((p) => !isOurs(p)), entry];
  return ok({ text: serialize({ ...list.value.doc, plugins }, text), changed: true });
}

/** The list without any weft-cni entry. Unchanged when it has none. */
export function removePlugin(text: string): Result<Edit> {
  const list = parseList(text);
  if (!list.ok) return list;
  if (!list.value.plugins.some(isOurs)) return ok({ text, changed: false });
  return ok({ text: serialize({ ...list.value.doc, plugins: list.value.plugins.filter((p) => !isOurs(p)) }, text), changed: true });
}
