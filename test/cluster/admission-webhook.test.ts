import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { AdmissionregistrationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { kubernetesBinariesAvailable, useCluster } from "./cluster.ts";
import { selfSignedCertificate } from "./self-signed.ts";

interface AdmissionReview {
  request?: { uid: string; namespace?: string; object?: { metadata?: { name?: string } } };
}

describe("test cluster: mutating admission webhook", function () {
  this.timeout(120000);
  before(function () {
    if (!kubernetesBinariesAvailable()) this.skip();
  });
  const cluster = useCluster();
  let server: Server | undefined;
  const calls: AdmissionReview[] = [];

  after(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it("calls a webhook over HTTPS with a caBundle and stores the pod it patched", async () => {
    const c = cluster();
    const ns = await c.createNamespace("webhook", { "weft-test-webhook": "on" });
    const tls = selfSignedCertificate("127.0.0.1");
    server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        const review = JSON.parse(body) as AdmissionReview;
        calls.push(review);
        const patch = [{ op: "add", path: "/metadata/annotations", value: { "weft.test/mutated": "yes" } }];
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({
            apiVersion: "admission.k8s.io/v1",
            kind: "AdmissionReview",
            response: { uid: review.request?.uid, allowed: true, patchType: "JSONPatch", patch: Buffer.from(JSON.stringify(patch)).toString("base64") },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;

    const admission = c.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    await admission.createMutatingWebhookConfiguration({
      body: {
        metadata: { name: `test-${ns}` },
        webhooks: [
          {
            name: "mutate.weft.test",
            admissionReviewVersions: ["v1"],
            sideEffects: "None",
            failurePolicy: "Fail",
            timeoutSeconds: 10,
            namespaceSelector: { matchLabels: { "weft-test-webhook": "on" } },
            clientConfig: { url: `https://127.0.0.1:${port}/mutate`, caBundle: Buffer.from(tls.cert).toString("base64") },
            rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
          },
        ],
      },
    });

    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "none" }] } } });
    const stored = await core.readNamespacedPod({ name: "p", namespace: ns });
    assert.equal(stored.metadata?.annotations?.["weft.test/mutated"], "yes");
    const call = calls.find((r) => r.request?.namespace === ns);
    assert.ok(call, "the apiserver called the webhook for the pod");
    assert.equal(call.request?.object?.metadata?.name, "p");
  });
});
