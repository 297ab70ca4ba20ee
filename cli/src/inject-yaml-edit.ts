// Editing a parsed YAML 1.1 document to a new value while keeping what did not
// change: `weft inject` writes manifests for kubectl, which reads YAML 1.1
// (`0644` is 420, unquoted `yes`/`on`/`y` are booleans), so every node the
// injector left alone keeps the node, and so the text, it was parsed from, and
// only new nodes are written fresh, quoted wherever a YAML 1.1 reader could
// take a string for something else.
import { isDeepStrictEqual } from "node:util";
import { isAlias, isMap, isNode, isScalar, isSeq, Scalar, visit, type Document, type Node, type Pair, type ScalarTag, type Tags } from "yaml";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

const MERGE_TAG = "tag:yaml.org,2002:merge";

/**
 * The YAML 1.1 tags, changed in one way: a scalar parsed from the input is
 * written back as its source text when that text still reads as the same type.
 * Re-rendering would otherwise turn `1:20` into `01:20` (a string to kubectl,
 * whose YAML 1.1 reader has no base 60, in both cases, but a different one).
 */
export function sourcePreservingTags(tags: Tags): Tags {
  return tags.map((tag) => {
    if (typeof tag !== "object" || "collection" in tag || tag.tag === MERGE_TAG) return tag;
    const scalarTag = tag as ScalarTag;
    const { test, stringify } = scalarTag;
    if (!test || !stringify) return tag;
    const wrapped: ScalarTag = {
      ...scalarTag,
      stringify: (item, ctx, onComment, onChompKeep) =>
        typeof item.source === "string" && test.test(item.source) ? item.source : stringify(item, ctx, onComment, onChompKeep),
    };
    return wrapped;
  });
}

// Strings that some YAML 1.1 reader (kubectl's among them) takes for a
// boolean, null, number, base-60 number or timestamp when written plain.
// Broader than needed on purpose: quoting a string never changes its meaning.
const AMBIGUOUS_WORD = /^(?:y|n|yes|no|on|off|true|false|null|~|<<|=)$/i;
const NUMBER_LIKE = /^[-+]?\.?[0-9]|^[-+]?\.(?:inf|nan)$|^\.(?:nan)$/i;

/** Whether a string must be quoted to stay a string under YAML 1.1. */
export function needsQuotes(s: string): boolean {
  return s === "" || AMBIGUOUS_WORD.test(s) || NUMBER_LIKE.test(s);
}

/** A node for a value the input did not have, with every ambiguous string (keys too) quoted. */
function freshNode(doc: Document, value: unknown): Node {
  const node = doc.createNode(value);
  const quote = (n: unknown): void => {
    if (isScalar(n) && typeof n.value === "string" && needsQuotes(n.value)) n.type = Scalar.QUOTE_DOUBLE;
  };
  quote(node);
  visit(node, { Scalar: (_, scalar) => quote(scalar) });
  return node;
}

function keyOf(pair: Pair): string | undefined {
  return isScalar(pair.key) ? String(pair.key.value) : undefined;
}

function isMergePair(pair: Pair): boolean {
  return isScalar(pair.key) && pair.key.value === "<<";
}

/**
 * Returns `node` edited to hold `after`, given that it held `before` (its
 * plain-JavaScript reading): unchanged subtrees are kept as they are, map keys
 * are added, replaced or removed in place, and sequence items are matched to
 * the old ones (an equal item, else one with the same `name`, as containers
 * and volumes have) so that a prepended proxy container does not re-render the
 * app's containers.
 */
export function editNode(doc: Document, node: unknown, before: unknown, after: unknown): Node {
  if (isNode(node) && isDeepStrictEqual(before, after)) return node;
  if (isMap(node) && isObj(before) && isObj(after)) {
    const items: Pair[] = [];
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = keyOf(pair);
      if (isMergePair(pair) || key === undefined) {
        items.push(pair);
        continue;
      }
      if (!(key in after) || after[key] === undefined) continue;
      seen.add(key);
      pair.value = editNode(doc, pair.value, before[key], after[key]);
      items.push(pair);
    }
    for (const [key, value] of Object.entries(after)) {
      if (seen.has(key) || value === undefined || isDeepStrictEqual(before[key], value)) continue;
      const pair = doc.createPair(key, null);
      pair.key = freshNode(doc, key);
      pair.value = freshNode(doc, value);
      items.push(pair);
    }
    node.items = items;
    return node;
  }
  if (isSeq(node) && Array.isArray(before) && Array.isArray(after) && node.items.length === before.length) {
    const used = new Set<number>();
    const unused = (match: (b: unknown) => boolean): number => before.findIndex((b, i) => !used.has(i) && match(b));
    node.items = after.map((value) => {
      let i = unused((b) => isDeepStrictEqual(b, value));
      if (i < 0 && isObj(value) && typeof value.name === "string") i = unused((b) => isObj(b) && b.name === value.name);
      if (i < 0) return freshNode(doc, value);
      used.add(i);
      return editNode(doc, node.items[i], before[i], value);
    });
    return node;
  }
  return freshNode(doc, after);
}

/**
 * Replaces every alias by a copy of the node it names, and drops the anchors:
 * an edit under an anchor would otherwise show up wherever it is aliased.
 * The document reads the same afterwards (merge keys `<<` take the copy alike).
 */
export function expandAliases(doc: Document): void {
  if (!isNode(doc.contents)) return;
  let found = false;
  visit(doc, {
    Alias: (_, alias) => {
      found = true;
      const target = alias.resolve(doc);
      return target ? (target.clone() as typeof target) : visit.SKIP;
    },
  });
  if (!found) return;
  visit(doc, {
    Node: (_, node) => {
      if (!isAlias(node)) delete node.anchor;
    },
  });
}
