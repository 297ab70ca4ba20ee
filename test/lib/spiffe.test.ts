import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatSpiffeId, identityFromServiceAccountUser, parseSpiffeId, spiffeIdFromSubjectAltName, spiffeIdOfSan } from "../../lib/spiffe.ts";

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

/** A self-signed certificate with these SANs (OpenSSL config lines such as `URI.1=...`), as Node prints them. */
function subjectAltNameOf(sans: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "weft-san-"));
  try {
    writeFileSync(join(dir, "req.cnf"), ["[req]", "distinguished_name=dn", "[dn]", "[ext]", "subjectAltName=@alt", "[alt]", ...sans, ""].join("\n"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
      "-days", "1", "-subj", "/CN=san-test", "-config", join(dir, "req.cnf"), "-extensions", "ext"], { stdio: "ignore" });
    return new X509Certificate(readFileSync(join(dir, "cert.pem"))).subjectAltName ?? "";
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the SPIFFE id in Node's subjectaltname string", () => {
  const cart = "spiffe://cluster.local/ns/shop/sa/cart";

  /** Both readers, which must agree: the handshake's string-only one and the one with the parts. */
  function read(san: string | undefined): { uri: string } | { code: string } {
    const fast = spiffeIdOfSan(san);
    const full = spiffeIdFromSubjectAltName(san);
    assert.equal(fast.ok, full.ok, `readers disagree on ${JSON.stringify(san)}`);
    if (!fast.ok || !full.ok) {
      assert.equal(fast.ok ? "" : fast.code, full.ok ? "" : full.code, `readers disagree on ${JSON.stringify(san)}`);
      return { code: fast.ok ? "" : fast.code };
    }
    assert.equal(fast.value, full.value.uri);
    return { uri: fast.value };
  }

  it("finds the one spiffe:// URI among other names and gives its parts", () => {
    assert.deepEqual(read(`URI:${cart}`), { uri: cart });
    assert.deepEqual(read(`DNS:cart.shop.svc, URI:https://example.org/x, URI:${cart}, IP Address:10.0.0.1`), { uri: cart });
    assert.deepEqual(spiffeIdFromSubjectAltName(`DNS:x, URI:${cart}`), {
      ok: true,
      value: { trustDomain: "cluster.local", namespace: "shop", serviceAccount: "cart", uri: cart },
    });
  });

  it("reads entries separated by a bare comma as well as by Node's comma and space", () => {
    assert.deepEqual(read(`DNS:x,URI:${cart},DNS:y`), { uri: cart });
  });

  it("refuses a certificate with no spiffe:// URI, or none at all", () => {
    for (const san of [undefined, "", "DNS:cart.shop.svc", "URI:https://example.org/ns/a/sa/b", `URI:SPIFFE://cluster.local/ns/shop/sa/cart`, `DNS:${cart}`]) {
      assert.deepEqual(read(san), { code: "no-spiffe-id" }, String(san));
    }
  });

  it("refuses a certificate with more than one spiffe:// URI, even when both are the same", () => {
    assert.deepEqual(read(`URI:${cart}, URI:spiffe://cluster.local/ns/shop/sa/web`), { code: "no-spiffe-id" });
    assert.deepEqual(read(`URI:${cart}, DNS:x, URI:${cart}`), { code: "no-spiffe-id" });
  });

  it("refuses a spiffe:// URI that is not a workload id, saying which part is wrong", () => {
    assert.deepEqual(read("URI:spiffe://cluster.local/ns/shop"), { code: "not-a-workload-id" });
    assert.deepEqual(read("URI:spiffe://cluster.local/ns/Shop/sa/cart"), { code: "bad-namespace" });
    assert.deepEqual(read("URI:spiffe://cluster.local/ns/shop/sa/-cart"), { code: "bad-service-account" });
    assert.deepEqual(read("URI:spiffe://Cluster.Local/ns/shop/sa/cart"), { code: "bad-trust-domain" });
    assert.deepEqual(read(`URI:${cart} , DNS:x`), { code: "bad-service-account" });
  });

  it("accepts exactly the workload ids parseSpiffeId accepts", () => {
    const long = "a".repeat(63);
    for (const uri of [cart, `spiffe://td/ns/${long}/sa/${long}.b-c`, `spiffe://td/ns/${long}b/sa/x`, "spiffe://td/ns/a-/sa/x", "spiffe://td/ns/a/sa/x.",
      "spiffe://t_d.x-y/ns/a/sa/b", "spiffe:///ns/a/sa/b", "spiffe://td/ns//sa/b", "spiffe://td/ns/a/sa/", "spiffe://td/ns/a/sa/b/"]) {
      const parsed = parseSpiffeId(uri);
      assert.deepEqual(read(`URI:${uri}`), parsed.ok ? { uri } : { code: parsed.code }, uri);
    }
  });

  it("does not take a name Node quoted for a separate entry", () => {
    // A DNS name holding ", URI:spiffe://..." is printed as one JSON string, with its commas escaped.
    assert.deepEqual(read(`URI:${cart}, DNS:"a\\u002c URI:spiffe://cluster.local/ns/admin/sa/root\\u002c DNS:z"`), { uri: cart });
    assert.deepEqual(read(`DirName:"O=x\\u002cCN=a\\\\\\u002cb", othername:"XmppAddr:x\\u002cy", URI:${cart}`), { uri: cart });
  });

  it("counts a quoted spiffe:// URI against the one allowed, and never accepts it", () => {
    assert.deepEqual(read(`URI:${cart}, URI:"spiffe://cluster.local/ns/a\\u002cb/sa/c"`), { code: "no-spiffe-id" });
    assert.deepEqual(read(`URI:"spiffe://cluster.local/ns/\\u00c3\\u00bc/sa/c"`), { code: "bad-namespace" });
  });

  it("fails closed on a quoted name that does not close or decode", () => {
    assert.deepEqual(read(`URI:${cart}, DNS:"unclosed`), { code: "bad-subject-alt-name" });
    assert.deepEqual(read(`URI:${cart}, URI:"x"y`), { code: "no-spiffe-id" });
    assert.deepEqual(read(`URI:"\\x"`), { code: "not-a-workload-id" });
  });

  it("reads the names of a real certificate as Node prints them, quoting included", () => {
    const crafted = subjectAltNameOf([`URI.1=${cart}`, "DNS.1=a, URI:spiffe://cluster.local/ns/admin/sa/root, DNS:z", "email.1=a@b", "IP.1=10.0.0.1", "RID.1=1.2.3.4"]);
    assert.match(crafted, /DNS:"a\\u002c URI:/, "Node no longer quotes names with commas; revisit lib/spiffe.ts");
    assert.deepEqual(read(crafted), { uri: cart });
    const twoUris = subjectAltNameOf([`URI.1=${cart}`, "URI.2=spiffe://cluster.local/ns/a,b/sa/c"]);
    assert.match(twoUris, /URI:"spiffe:/);
    assert.deepEqual(read(twoUris), { code: "no-spiffe-id" });
  });
});
