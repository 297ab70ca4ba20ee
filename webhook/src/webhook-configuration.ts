// The MutatingWebhookConfiguration that registers the injector. The Helm chart
// renders the same shape; this function is what tests register and what the
// chart's template is checked against.
//
// Selection has to be split in two entries because one entry ANDs its
// namespaceSelector and objectSelector, and annotations cannot be selected:
//   namespace.inject.weft.io: namespaces labelled weft.io/inject=enabled, pods
//     not labelled weft.io/inject=disabled (an opt-out by annotation still
//     reaches the webhook, which leaves the pod alone);
//   pod.inject.weft.io: every other namespace, but only pods labelled
//     weft.io/inject=enabled (the opt-in the apiserver can see).
// The two match disjoint sets, so no pod is sent twice. kube-system and the
// control plane's namespace are excluded by name in both, so the apiserver never
// calls the webhook for them (and a Fail policy cannot wedge them).
import type { AdmissionregistrationV1WebhookClientConfig, V1MutatingWebhook, V1MutatingWebhookConfiguration } from "@kubernetes/client-node";
import { LABELS } from "../../lib/proxy-contract.ts";
import type { InjectorConfig } from "./injector-config.ts";
import { INJECT_PATH } from "./server.ts";

export const WEBHOOK_CONFIGURATION_NAME = "weft-injector";
export const WEBHOOK_NAMES = { namespace: "namespace.inject.weft.io", pod: "pod.inject.weft.io" } as const;
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

export type WebhookTarget = { url: string } | { service: { namespace: string; name: string; port?: number } };

export interface WebhookConfigurationOptions {
  config: InjectorConfig;
  /** PEM of the CA that signed the webhook's serving certificate. */
  caBundlePem: string;
  target: WebhookTarget;
  name?: string;
}

export function mutatingWebhookConfiguration(options: WebhookConfigurationOptions): V1MutatingWebhookConfiguration {
  const { config } = options;
  const clientConfig: AdmissionregistrationV1WebhookClientConfig = {
    caBundle: Buffer.from(options.caBundlePem).toString("base64"),
    ...("url" in options.target ? { url: options.target.url } : { service: { ...options.target.service, path: INJECT_PATH, port: options.target.service.port ?? 443 } }),
  };
  const excluded = { key: NAMESPACE_NAME_LABEL, operator: "NotIn", values: ["kube-system", config.controlPlane.namespace] };
  const common = (name: string): V1MutatingWebhook => ({
    name,
    clientConfig,
    rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "Namespaced" }],
    failurePolicy: config.webhook.failurePolicy,
    timeoutSeconds: config.webhook.timeoutSeconds,
    sideEffects: "None",
    admissionReviewVersions: ["v1"],
    matchPolicy: "Equivalent",
    reinvocationPolicy: "Never",
  });
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name: options.name ?? WEBHOOK_CONFIGURATION_NAME, labels: { "app.kubernetes.io/part-of": "weft" } },
    webhooks: [
      {
        ...common(WEBHOOK_NAMES.namespace),
        namespaceSelector: { matchExpressions: [{ key: LABELS.inject, operator: "In", values: ["enabled"] }, excluded] },
        objectSelector: { matchExpressions: [{ key: LABELS.inject, operator: "NotIn", values: ["disabled"] }] },
      },
      {
        ...common(WEBHOOK_NAMES.pod),
        namespaceSelector: { matchExpressions: [{ key: LABELS.inject, operator: "NotIn", values: ["enabled"] }, excluded] },
        objectSelector: { matchLabels: { [LABELS.inject]: "enabled" } },
      },
    ],
  };
}
