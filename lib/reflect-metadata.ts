// The few Reflect metadata calls that tsyringe (pulled in by @peculiar/x509)
// needs at load time. The full `reflect-metadata` polyfill is not a dependency;
// this keeps the same semantics for getMetadata (walks the prototype chain),
// getOwnMetadata and defineMetadata. Import it before @peculiar/x509.
type Target = object;

const store = new WeakMap<Target, Map<string | symbol, Map<unknown, unknown>>>();

function own(key: unknown, target: Target, property?: string | symbol): unknown {
  return store.get(target)?.get(property ?? "")?.get(key);
}

interface ReflectMetadata {
  getMetadata?: (key: unknown, target: Target, property?: string | symbol) => unknown;
  getOwnMetadata?: (key: unknown, target: Target, property?: string | symbol) => unknown;
  defineMetadata?: (key: unknown, value: unknown, target: Target, property?: string | symbol) => void;
}

const reflect = Reflect as unknown as ReflectMetadata;
if (!reflect.getMetadata) {
  reflect.getOwnMetadata = own;
  reflect.getMetadata = (key, target, property) => {
    for (let t: Target | null = target; t; t = Object.getPrototypeOf(t) as Target | null) {
      const value = own(key, t, property);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  reflect.defineMetadata = (key, value, target, property) => {
    let byProperty = store.get(target);
    if (!byProperty) store.set(target, (byProperty = new Map()));
    let byKey = byProperty.get(property ?? "");
    if (!byKey) byProperty.set(property ?? "", (byKey = new Map()));
    byKey.set(key, value);
  };
}
