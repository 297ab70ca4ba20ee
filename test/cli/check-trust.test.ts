import assert from "node:assert/strict";
import { checkProxyTrust, shortFingerprint, type ProxyTrustFact } from "../../cli/src/check-trust.ts";

const A = "AA:AA:AA:AA:AA:AA:AA:AA:11:11";
const B = "BB:BB:BB:BB:BB:BB:BB:BB:22:22";
const IA = "1A:1A:1A:1A:1A:1A:1A:1A:33";
const IB = "1B:1B:1B:1B:1B:1B:1B:1B:44";
const proxy = (pod: string, anchors: string[] | undefined, issuer: string | null | undefined): ProxyTrustFact => ({ pod, namespace: "shop", anchors, issuer });

describe("weft check: proxy-trust, each step of a rotation", () => {
  it("names the anchors every proxy trusts and the one issuer of their leaves", () => {
    const r = checkProxyTrust([proxy("a", [A], IA), proxy("b", [A], IA)]);
    assert.ok(r.ok);
    assert.equal(r.message, `2 proxies trust anchors [${shortFingerprint(A)}]; leaves from issuer ${shortFingerprint(IA)}`);
  });

  it("says a rotation is in progress when leaves come from two issuers under one bundle, without failing", () => {
    const r = checkProxyTrust([proxy("a", [B, A], IB), proxy("b", [A, B], IA)]);
    assert.ok(r.ok);
    assert.match(r.message, /^2 proxies trust anchors \[AA:AA:AA:AA:AA:AA:AA:AA \+ BB:BB:BB:BB:BB:BB:BB:BB\]; leaves from 2 issuers \(a rotation in progress; weft identity renew re-issues the rest now\)/);
    assert.match(r.message, /\[1B:1B:1B:1B:1B:1B:1B:1B\]: 1 \(shop\/a\)/);
  });

  it("fails when proxies trust different bundles, naming the pods of each", () => {
    const r = checkProxyTrust([proxy("a", [A, B], IA), proxy("b", [A], IA)]);
    assert.equal(r.ok, false);
    assert.match(r.message, /^proxies trust different anchors: /);
    assert.match(r.message, /\[AA:AA:AA:AA:AA:AA:AA:AA\]: 1 \(shop\/b\)/);
    assert.match(r.hint, /grep trust/);
  });

  it("notes proxies too old to report their trust, and passes with none reporting", () => {
    assert.match(checkProxyTrust([proxy("a", [A], IA), proxy("old", undefined, undefined)]).message, /\(1 proxies do not report their trust/);
    assert.ok(checkProxyTrust([proxy("old", undefined, undefined)]).ok);
  });
});
