// The apiserver refuses a patch that does not apply, and the pod is then not
// created: every patch the injector produces must apply cleanly and give
// exactly the pod `weft inject` writes.
import assert from "node:assert/strict";
import fjp from "fast-json-patch";
import type { V1Pod } from "@kubernetes/client-node";
import { captureRequest } from "../../cni/src/plugin.ts";
import { parseCaptureFlags } from "../../sidecar/src/capture/flags.ts";
import { DEFAULT_INJECTOR_CONFIG } from "../../webhook/src/injector-config.ts";
import { inject, injectPod } from "../../webhook/src/injector.ts";
import { escapePointer } from "../../webhook/src/pod-patch.ts";
import { goldenPods } from "./golden-cases.ts";

const enabled = { name: "shop", labels: { "weft.io/inject": "enabled" } };

function applied(pod: V1Pod, patch: fjp.Operation[]): V1Pod {
  // validate=true: fast-json-patch refuses ops whose path does not exist, as the apiserver does.
  return fjp.applyPatch(structuredClone(pod), patch, true, false).newDocument;
}

describe("the injector's JSON patch", () => {
  for (const g of goldenPods()) {
    it(`applies to ${g.caseName}/${g.pod.metadata?.name} and yields the injected pod`, () => {
      const result = inject(g.pod, g.namespace, g.config);
      assert.deepStrictEqual(applied(g.pod, result.patch), JSON.parse(JSON.stringify(injectPod(g.pod, g.namespace, g.config).pod)));
      if (!result.decision.inject) assert.deepStrictEqual(result.patch, []);
    });
  }

  it("escapes / and ~ in annotation and label keys", () => {
    assert.equal(escapePointer("weft.io/injected-by"), "weft.io~1injected-by");
    assert.equal(escapePointer("a~b/c"), "a~0b~1c");
    const pod: V1Pod = { metadata: { name: "p", labels: { "x/y": "1" }, annotations: { "odd~/key": "2" } }, spec: { containers: [{ name: "c" }] } };
    const { patch } = inject(pod, enabled, DEFAULT_INJECTOR_CONFIG);
    assert.ok(patch.some((op) => op.path === "/metadata/labels/weft.io~1meshed"));
    assert.ok(patch.some((op) => op.path === "/metadata/annotations/weft.io~1injected-by"));
    const out = applied(pod, patch);
    assert.equal(out.metadata?.annotations?.["odd~/key"], "2");
    assert.equal(out.metadata?.labels?.["weft.io/meshed"], "true");
  });

  it("adds maps and lists that the pod does not have yet", () => {
    const bare: V1Pod = { spec: { containers: [{ name: "c" }] } };
    for (const nativeSidecar of ["on", "off"] as const) {
      const config = { ...DEFAULT_INJECTOR_CONFIG, nativeSidecar };
      const { patch, pod } = inject(bare, enabled, config);
      assert.deepStrictEqual(applied(bare, patch), JSON.parse(JSON.stringify(pod)));
      assert.ok(patch.some((op) => op.op === "add" && op.path === "/metadata"));
    }
  });

  it("writes init container flags that weft-proxy-init accepts", () => {
    for (const g of goldenPods()) {
      const { pod, decision } = injectPod(g.pod, g.namespace, g.config);
      if (!decision.inject || g.config.cni) continue;
      const init = pod.spec?.initContainers?.find((c) => c.name === "weft-init");
      assert.ok(init?.args);
      const prefix = g.config.init.command.length - 1;
      const flags = parseCaptureFlags(init.args.slice(prefix));
      assert.ok(flags.ok, `${g.caseName}: ${flags.ok ? "" : flags.message}`);
      assert.equal(flags.value.options.inboundPort, g.config.proxy.ports.inbound);
      assert.equal(flags.value.options.proxyUid, g.config.proxy.uid);
    }
  });

  it("in CNI mode, writes capture flags the weft-cni plugin accepts, and no privileged init container", () => {
    let seen = 0;
    for (const g of goldenPods()) {
      if (!g.config.cni) continue;
      const { pod, decision } = injectPod(g.pod, g.namespace, g.config);
      if (!decision.inject) continue;
      seen++;
      const names = (pod.spec?.initContainers ?? []).map((c) => c.name);
      assert.equal(names[0], "weft-validate", `${g.caseName}: ${names.join(",")}`);
      assert.ok(!names.includes("weft-init"), g.caseName);
      const capture = captureRequest({ labels: pod.metadata?.labels ?? {}, annotations: pod.metadata?.annotations ?? {} });
      assert.ok(capture.ok && capture.value, `${g.caseName}: ${capture.ok ? "not meshed" : capture.message}`);
      assert.equal(capture.value.inboundPort, g.config.proxy.ports.inbound);
      assert.equal(capture.value.proxyUid, g.config.proxy.uid);
    }
    assert.ok(seen >= 2, "the golden cases include CNI mode");
  });
});
