// `weft check`'s Gateway API verdict: routing is optional, so no CRDs passes;
// the supported release passes; another release fails with what to install.
import assert from "node:assert/strict";
import { checkGatewayApi } from "../../cli/src/check-gateway-api.ts";

const crds = (version: string, channel = "standard", names = ["httproutes", "grpcroutes", "referencegrants"]) => ({
  crds: Object.fromEntries(names.map((n) => [`${n}.gateway.networking.k8s.io`, { version, channel }])),
});

describe("weft check: Gateway API CRDs", () => {
  const cases: { name: string; fact: Parameters<typeof checkGatewayApi>[0]; ok: boolean; message: RegExp }[] = [
    { name: "not installed: passes, routing is off", fact: { crds: {} }, ok: true, message: /not installed: routing .* is off/ },
    { name: "v1.6.3 standard: supported", fact: crds("v1.6.3"), ok: true, message: /Gateway API v1\.6\.3 \(standard channel\), supported$/ },
    { name: "another v1.6 patch: supported", fact: crds("v1.6.0", "experimental"), ok: true, message: /v1\.6\.0 \(experimental channel\), supported/ },
    { name: "v1.2.1: not supported", fact: crds("v1.2.1"), ok: false, message: /v1\.2\.1 .* installed; Weft supports v1\.6\.x/ },
    { name: "v1.60.0 is not v1.6", fact: crds("v1.60.0"), ok: false, message: /supports v1\.6\.x/ },
    { name: "no GRPCRoute CRD: says so", fact: crds("v1.6.3", "standard", ["httproutes", "referencegrants"]), ok: true, message: /not installed: grpcroutes/ },
    { name: "unreadable: fails naming why", fact: new Error("forbidden"), ok: false, message: /cannot read the Gateway API CRDs: forbidden/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = checkGatewayApi(c.fact);
      assert.equal(r.name, "gateway-api");
      assert.equal(r.ok, c.ok, r.message);
      assert.match(r.message, c.message);
      assert.equal(r.hint === "", c.ok);
    });
  }
});
