// Kubernetes resource quantities, only as far as the injector needs them: to
// check that a request does not exceed its limit (the apiserver refuses such a
// pod, and a refused pod is never created).
const SUFFIX: Record<string, number> = {
  "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

export function isQuantity(value: string): boolean {
  return QUANTITY.test(value);
}

/** The quantity's value in base units, or undefined when it is not one. */
export function quantityValue(value: string): number | undefined {
  const m = QUANTITY.exec(value);
  if (!m) return undefined;
  return Number(m[1]) * (SUFFIX[m[2] ?? ""] ?? 1);
}
