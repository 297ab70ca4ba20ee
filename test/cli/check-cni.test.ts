// weft check's verdict on CNI mode, from facts: left out when CNI mode is not
// in use, a pass naming the nodes when every node runs a Ready weft-cni pod,
// and a failure naming the nodes (and the missing DaemonSet) otherwise.
import assert from "node:assert/strict";
import { checkCni } from "../../cli/src/check-cni.ts";

describe("weft check: cni", () => {
  it("is left out when neither the injector nor the DaemonSet is in CNI mode", () => {
    assert.equal(checkCni({ injectorCni: false, daemonSet: false, nodes: [] }), undefined);
  });

  it("passes when weft-cni is Ready (in the chain) on every node", () => {
    const r = checkCni({ injectorCni: true, daemonSet: true, nodes: [{ name: "a", pod: { name: "weft-cni-x", ready: true } }, { name: "b", pod: { name: "weft-cni-y", ready: true } }] });
    assert.deepEqual(r, { name: "cni", ok: true, message: "weft-cni installed and in the CNI chain on 2/2 nodes", hint: "" });
  });

  it("fails naming the nodes without a pod and those where it is not in the chain yet", () => {
    const r = checkCni({ injectorCni: true, daemonSet: true, nodes: [{ name: "a" }, { name: "b", pod: { name: "weft-cni-y", ready: false } }, { name: "c", pod: { name: "weft-cni-z", ready: true } }] });
    assert.equal(r?.ok, false);
    assert.equal(r?.message, "no weft-cni pod on a; weft-cni not in the CNI chain yet on b (weft-cni-y)");
    assert.match(r?.hint ?? "", /logs daemonset\/weft-cni/);
  });

  it("fails when the injector is in CNI mode without the DaemonSet", () => {
    const r = checkCni({ injectorCni: true, daemonSet: false, nodes: [] });
    assert.equal(r?.ok, false);
    assert.match(r?.message ?? "", /weft-validate/);
  });

  it("reports a cluster it cannot read as a failure with what it needs", () => {
    const r = checkCni(new Error("forbidden"));
    assert.equal(r?.ok, false);
    assert.match(r?.message ?? "", /forbidden/);
  });
});
