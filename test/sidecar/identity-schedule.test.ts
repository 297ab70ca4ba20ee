import assert from "node:assert/strict";
import { checkRequestedNames } from "../../control-plane/src/identity-certify.ts";
import { renewalDelayMs, retryDelayMs } from "../../sidecar/src/identity/schedule.ts";

describe("sidecar identity: renewal and retry timing", () => {
  const at = new Date("2030-01-01T00:00:00Z");
  const day = new Date(at.getTime() + 86_400_000);

  it("renews between 65% and 75% of the lifetime", () => {
    const near = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) <= 100, `${actual} vs ${expected}`);
    near(renewalDelayMs(at, day, () => 0.5), 0.7 * 86_400_000);
    near(renewalDelayMs(at, day, () => 0), 0.65 * 86_400_000);
    near(renewalDelayMs(at, day, () => 0.999999), 0.75 * 86_400_000);
    assert.equal(renewalDelayMs(at, new Date(at.getTime() - 1), () => 0.5), 0);
  });

  it("backs off exponentially with jitter up to a cap, but retries often enough to renew before expiry", () => {
    const noExpiry = (n: number, r: number) => retryDelayMs(n, () => r, at, undefined);
    assert.equal(noExpiry(1, 1), 500);
    assert.equal(noExpiry(1, 0), 250);
    assert.equal(noExpiry(4, 1), 4_000);
    assert.equal(noExpiry(30, 1), 30_000);
    // 20 s left: never wait more than 2 s between attempts.
    assert.equal(retryDelayMs(30, () => 1, at, new Date(at.getTime() + 20_000)), 2_000);
  });

  it("keeps every retry between half its ceiling and the ceiling (equal jitter): never an immediate retry", () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(30_000, 500 * 2 ** (attempt - 1));
      for (const r of [0, 0.25, 0.5, 0.75, 0.999_999]) {
        const delay = retryDelayMs(attempt, () => r, at, undefined);
        assert.ok(delay >= ceiling / 2 && delay <= ceiling, `attempt ${attempt}, random ${r}: ${delay} outside [${ceiling / 2}, ${ceiling}]`);
      }
    }
  });

  it("near expiry retries every tenth of the remaining time but never sooner than 100 ms; past expiry backs off as usual", () => {
    const left = (ms: number) => new Date(at.getTime() + ms);
    assert.equal(retryDelayMs(1, () => 0.5, at, left(3_000)), 300);
    assert.equal(retryDelayMs(1, () => 0.5, at, left(500)), 100);
    assert.equal(retryDelayMs(5, () => 0.5, at, left(-1)), 6_000);
  });
});

describe("identity: which SANs a CSR may ask for", () => {
  const id = "spiffe://cluster.local/ns/shop/sa/cart";
  const code = (sans: string[]) => {
    const r = checkRequestedNames(sans, id);
    return r.ok ? "ok" : r.code;
  };
  it("accepts none, or exactly the proven identity", () => {
    assert.equal(code([]), "ok");
    assert.equal(code([`url:${id}`]), "ok");
  });
  it("refuses another SPIFFE id, any extra name, and duplicates", () => {
    assert.equal(code(["url:spiffe://cluster.local/ns/shop/sa/admin"]), "csr-identity-mismatch");
    assert.equal(code([`url:${id}`, "url:spiffe://other/ns/a/sa/b"]), "csr-identity-mismatch");
    assert.equal(code([`url:${id}`, "dns:cart.shop.svc"]), "csr-extra-sans");
    assert.equal(code(["ip:10.0.0.1"]), "csr-extra-sans");
    assert.equal(code([`url:${id}`, `url:${id}`]), "csr-extra-sans");
  });
});
