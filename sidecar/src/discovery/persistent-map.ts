// An immutable string-keyed map whose set and delete return a new map sharing
// all untouched structure with the old one (a hash array mapped trie), so a
// proxy applying a one-Service delta to a 1,000-Service mesh copies a few
// small nodes instead of the whole map, and every earlier state stays intact.
// diff() walks two versions and skips the subtrees they share, so consumers
// (route index, endpoint keys) update in time proportional to what changed.
//
// Iteration order is the trie's (by key hash), not insertion order.

interface Leaf<V> {
  readonly kind: 0;
  readonly hash: number;
  readonly key: string;
  readonly value: V;
}
/** Keys whose 32-bit hashes are equal. */
interface Collision<V> {
  readonly kind: 1;
  readonly hash: number;
  readonly entries: readonly Leaf<V>[];
}
interface Branch<V> {
  readonly kind: 2;
  /** Bit i set: a child for hash fragment i, at children[popcount of the lower bits]. */
  readonly bitmap: number;
  readonly children: readonly Node<V>[];
}
type Node<V> = Leaf<V> | Collision<V> | Branch<V>;

const BITS = 5;
const MASK = 31;

function hashOf(key: string): number {
  // FNV-1a over UTF-16 code units.
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function popcount(n: number): number {
  n -= (n >>> 1) & 0x55555555;
  n = (n & 0x33333333) + ((n >>> 2) & 0x33333333);
  return (Math.imul((n + (n >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

function fragment(hash: number, shift: number): number {
  return (hash >>> shift) & MASK;
}

function lookup<V>(node: Node<V> | null, hash: number, key: string): Leaf<V> | undefined {
  let shift = 0;
  while (node) {
    if (node.kind === 0) return node.key === key ? node : undefined;
    if (node.kind === 1) return node.hash === hash ? node.entries.find((e) => e.key === key) : undefined;
    const bit = 1 << fragment(hash, shift);
    if ((node.bitmap & bit) === 0) return undefined;
    node = node.children[popcount(node.bitmap & (bit - 1))] ?? null;
    shift += BITS;
  }
  return undefined;
}

/** A branch holding two nodes of different hashes (a leaf or collision each), split at `shift` and below. */
function join<V>(shift: number, a: Leaf<V> | Collision<V>, b: Leaf<V> | Collision<V>): Node<V> {
  if (a.hash === b.hash) {
    const entries = [...(a.kind === 0 ? [a] : a.entries), ...(b.kind === 0 ? [b] : b.entries)];
    return { kind: 1, hash: a.hash, entries };
  }
  const fa = fragment(a.hash, shift);
  const fb = fragment(b.hash, shift);
  if (fa === fb) return { kind: 2, bitmap: 1 << fa, children: [join(shift + BITS, a, b)] };
  return { kind: 2, bitmap: (1 << fa) | (1 << fb), children: fa < fb ? [a, b] : [b, a] };
}

/** The node with `leaf` set; `node` itself when nothing changed. `grew` is set when the key is new. */
function insert<V>(node: Node<V> | null, shift: number, leaf: Leaf<V>, grew: { value: boolean }): Node<V> {
  if (node === null) {
    grew.value = true;
    return leaf;
  }
  if (node.kind === 0) {
    if (node.key === leaf.key) return node.value === leaf.value ? node : leaf;
    grew.value = true;
    return join(shift, node, leaf);
  }
  if (node.kind === 1) {
    if (node.hash !== leaf.hash) {
      grew.value = true;
      return join(shift, node, leaf);
    }
    const i = node.entries.findIndex((e) => e.key === leaf.key);
    if (i >= 0 && node.entries[i]?.value === leaf.value) return node;
    if (i < 0) grew.value = true;
    const entries = i < 0 ? [...node.entries, leaf] : node.entries.map((e, j) => (j === i ? leaf : e));
    return { kind: 1, hash: node.hash, entries };
  }
  const bit = 1 << fragment(leaf.hash, shift);
  const at = popcount(node.bitmap & (bit - 1));
  if ((node.bitmap & bit) === 0) {
    grew.value = true;
    const children = [...node.children];
    children.splice(at, 0, leaf);
    return { kind: 2, bitmap: node.bitmap | bit, children };
  }
  const child = node.children[at] ?? null;
  const next = insert(child, shift + BITS, leaf, grew);
  if (next === child) return node;
  const children = [...node.children];
  children[at] = next;
  return { kind: 2, bitmap: node.bitmap, children };
}

/** The node without `key` (null when empty); `node` itself when the key is absent. */
function remove<V>(node: Node<V>, shift: number, hash: number, key: string): Node<V> | null {
  if (node.kind === 0) return node.key === key ? null : node;
  if (node.kind === 1) {
    if (node.hash !== hash) return node;
    const entries = node.entries.filter((e) => e.key !== key);
    if (entries.length === node.entries.length) return node;
    return entries.length === 1 ? (entries[0] ?? null) : { kind: 1, hash, entries };
  }
  const bit = 1 << fragment(hash, shift);
  if ((node.bitmap & bit) === 0) return node;
  const at = popcount(node.bitmap & (bit - 1));
  const child = node.children[at];
  if (!child) return node;
  const next = remove(child, shift + BITS, hash, key);
  if (next === child) return node;
  if (next === null) {
    if (node.children.length === 1) return null;
    const children = node.children.filter((_, i) => i !== at);
    // A lone leaf needs no branch above it: lookups compare the whole key.
    const only = children[0];
    if (children.length === 1 && only && only.kind !== 2) return only;
    return { kind: 2, bitmap: node.bitmap & ~bit, children };
  }
  const children = [...node.children];
  children[at] = next;
  if (children.length === 1 && next.kind !== 2) return next;
  return { kind: 2, bitmap: node.bitmap, children };
}

function* leaves<V>(node: Node<V> | null): Generator<Leaf<V>, undefined, unknown> {
  if (node === null) return undefined;
  if (node.kind === 0) yield node;
  else if (node.kind === 1) yield* node.entries;
  else for (const child of node.children) yield* leaves(child);
  return undefined;
}

export type MapChange<V> = { key: string; before: V | undefined; after: V | undefined };

function diffNodes<V>(a: Node<V> | null, b: Node<V> | null, shift: number, out: (change: MapChange<V>) => void): void {
  if (a === b) return;
  if (a !== null && b !== null && a.kind === 2 && b.kind === 2) {
    const bits = a.bitmap | b.bitmap;
    for (let f = 0; f <= MASK; f++) {
      const bit = 1 << f;
      if ((bits & bit) === 0) continue;
      const ca = (a.bitmap & bit) !== 0 ? (a.children[popcount(a.bitmap & (bit - 1))] ?? null) : null;
      const cb = (b.bitmap & bit) !== 0 ? (b.children[popcount(b.bitmap & (bit - 1))] ?? null) : null;
      diffNodes(ca, cb, shift + BITS, out);
    }
    return;
  }
  // Different shapes at this point (a subtree appeared, vanished, split or collapsed): compare by key.
  const before = new Map<string, V>();
  for (const leaf of leaves(a)) before.set(leaf.key, leaf.value);
  for (const leaf of leaves(b)) {
    const old = before.get(leaf.key);
    const had = before.delete(leaf.key);
    if (!had || old !== leaf.value) out({ key: leaf.key, before: had ? old : undefined, after: leaf.value });
  }
  for (const [key, value] of before) out({ key, before: value, after: undefined });
}

export class PersistentMap<V> implements ReadonlyMap<string, V> {
  readonly #root: Node<V> | null;
  readonly size: number;

  private constructor(root: Node<V> | null, size: number) {
    this.#root = root;
    this.size = size;
  }

  static empty<V>(): PersistentMap<V> {
    return new PersistentMap<V>(null, 0);
  }

  static from<V>(entries: Iterable<readonly [string, V]>): PersistentMap<V> {
    let map = PersistentMap.empty<V>();
    for (const [key, value] of entries) map = map.set(key, value);
    return map;
  }

  get(key: string): V | undefined {
    return lookup(this.#root, hashOf(key), key)?.value;
  }

  has(key: string): boolean {
    return lookup(this.#root, hashOf(key), key) !== undefined;
  }

  /** A map with `key` set to `value`; this one is unchanged (returned as is when the value is already there). */
  set(key: string, value: V): PersistentMap<V> {
    const grew = { value: false };
    const root = insert(this.#root, 0, { kind: 0, hash: hashOf(key), key, value }, grew);
    return root === this.#root ? this : new PersistentMap(root, this.size + (grew.value ? 1 : 0));
  }

  /** A map without `key`; this one is unchanged. */
  delete(key: string): PersistentMap<V> {
    if (this.#root === null) return this;
    const root = remove(this.#root, 0, hashOf(key), key);
    return root === this.#root ? this : new PersistentMap(root, this.size - 1);
  }

  /** Every key whose value differs between `before` and `after` (by identity), in time proportional to the difference. */
  static diff<V>(before: PersistentMap<V>, after: PersistentMap<V>, out: (change: MapChange<V>) => void): void {
    diffNodes(before.#root, after.#root, 0, out);
  }

  *entries(): MapIterator<[string, V]> {
    for (const leaf of leaves(this.#root)) yield [leaf.key, leaf.value];
    return undefined;
  }

  *keys(): MapIterator<string> {
    for (const leaf of leaves(this.#root)) yield leaf.key;
    return undefined;
  }

  *values(): MapIterator<V> {
    for (const leaf of leaves(this.#root)) yield leaf.value;
    return undefined;
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  forEach(callback: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    for (const leaf of leaves(this.#root)) callback.call(thisArg, leaf.value, leaf.key, this);
  }

  get [Symbol.toStringTag](): string {
    return "PersistentMap";
  }
}
