import assert from "node:assert/strict";
import { formatSpiffeId, identityFromServiceAccountUser, parseSpiffeId } from "../../lib/spiffe.ts";

describe("SPIFFE workload ids", () => {
  it("round-trips a workload identity through its URI", () => {
    const id = { trustDomain: "cluster.local", namespace: "shop", serviceAccount: "cart" };
    const uri = formatSpiffeId(id);
    assert.equal(uri, "spiffe://cluster.local/ns/shop/sa/cart");
    assert.deepEqual(parseSpiffeId(uri), { ok: true, value: id });
  });

  it("refuses URIs that are not workload ids, with a reason", () => {
    for (const uri of ["spiffe://cluster.local/ns/shop", "https://x/ns/a/sa/b", "spiffe://td/ns/UPPER/sa/b", "spiffe://td/ns/a/sa/b/extra"]) {
      const result = parseSpiffeId(uri);
      assert.equal(result.ok, false, uri);
    }
  });

  it("maps a ServiceAccount username to its identity and refuses other users", () => {
    assert.deepEqual(identityFromServiceAccountUser("system:serviceaccount:shop:cart", "example.org"), {
      ok: true,
      value: { trustDomain: "example.org", namespace: "shop", serviceAccount: "cart" },
    });
    assert.equal(identityFromServiceAccountUser("alice", "example.org").ok, false);
    assert.equal(identityFromServiceAccountUser("system:serviceaccount:shop:cart:x", "example.org").ok, false);
  });
});
