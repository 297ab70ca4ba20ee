// The MutatingWebhookConfiguration: two disjoint entries so the apiserver calls
// the webhook only for meshed namespaces and opted-in pods, never for
// kube-system or the control plane, with the operator's failure policy.
import assert from "node:assert/strict";
import { DEFAULT_INJECTOR_CONFIG } from "../../webhook/src/injector-config.ts";
import { mutatingWebhookConfiguration, WEBHOOK_NAMES } from "../../webhook/src/webhook-configuration.ts";

describe("webhook configuration", () => {
  const config = { ...DEFAULT_INJECTOR_CONFIG, webhook: { failurePolicy: "Fail" as const, timeoutSeconds: 3 } };
  const generated = mutatingWebhookConfiguration({ config, caBundlePem: "PEM", target: { service: { namespace: "weft-system", name: "weft-webhook" } } });
  const [byNamespace, byPod] = generated.webhooks ?? [];

  it("registers pod CREATE only, with the CA bundle, failure policy and timeout", () => {
    assert.deepStrictEqual(generated.webhooks?.map((w) => w.name), [WEBHOOK_NAMES.namespace, WEBHOOK_NAMES.pod]);
    for (const w of generated.webhooks ?? []) {
      assert.deepStrictEqual(w.rules, [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "Namespaced" }]);
      assert.equal(w.failurePolicy, "Fail");
      assert.equal(w.timeoutSeconds, 3);
      assert.equal(w.sideEffects, "None");
      assert.equal(Buffer.from(w.clientConfig.caBundle ?? "", "base64").toString(), "PEM");
      assert.deepStrictEqual(w.clientConfig.service, { namespace: "weft-system", name: "weft-webhook", path: "/inject", port: 443 });
    }
  });

  it("excludes kube-system and the control plane's namespace in both entries", () => {
    for (const w of [byNamespace, byPod]) {
      assert.ok(w?.namespaceSelector?.matchExpressions?.some((e) => e.key === "kubernetes.io/metadata.name" && e.operator === "NotIn" && e.values?.includes("kube-system") && e.values.includes("weft-system")));
    }
  });

  it("selects labelled namespaces in one entry and opted-in pods elsewhere in the other", () => {
    assert.deepStrictEqual(byNamespace?.namespaceSelector?.matchExpressions?.[0], { key: "weft.io/inject", operator: "In", values: ["enabled"] });
    assert.deepStrictEqual(byNamespace?.objectSelector, { matchExpressions: [{ key: "weft.io/inject", operator: "NotIn", values: ["disabled"] }] });
    assert.deepStrictEqual(byPod?.namespaceSelector?.matchExpressions?.[0], { key: "weft.io/inject", operator: "NotIn", values: ["enabled"] });
    assert.deepStrictEqual(byPod?.objectSelector, { matchLabels: { "weft.io/inject": "enabled" } });
  });
});
