// The webhook over real HTTPS: a pod review in a labelled namespace comes back
// with a patch; every kind of bad input gets a clear answer (an allowing review
// without a patch, or HTTP 400/413 for what is not a review), is counted, and
// never takes the server down.
import assert from "node:assert/strict";
import { get } from "node:http";
import fjp from "fast-json-patch";
import type { V1Pod } from "@kubernetes/client-node";
import { StaticNamespaceSource } from "../../webhook/src/namespace-source.ts";
import { podReview, post, responsePatch, startTestWebhook, type TestWebhook } from "./webhook-client.ts";

const pod: V1Pod = { metadata: { generateName: "web-", labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx" }] } };

async function counted(t: TestWebhook, decision: string): Promise<number> {
  const metric = await t.webhook.metrics.admissions.get();
  return metric.values.find((v) => v.labels.decision === decision)?.value ?? 0;
}

function getText(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject);
  });
}

describe("webhook admission server", function () {
  this.timeout(30_000);
  let t: TestWebhook;

  before(async () => {
    t = await startTestWebhook({ namespaces: new StaticNamespaceSource({ shop: { "weft.io/inject": "enabled" }, legacy: {} }), metricsPort: 0 });
  });
  after(async () => t?.stop());

  it("answers a pod CREATE in a labelled namespace with a patch that injects the proxy", async () => {
    const review = podReview(pod, "shop");
    const res = await post(t.webhook.port, t.ca, JSON.stringify(review));
    assert.equal(res.status, 200);
    assert.equal(res.json.apiVersion, "admission.k8s.io/v1");
    assert.equal(res.json.kind, "AdmissionReview");
    assert.equal(res.json.response.uid, (review.request as { uid: string }).uid);
    assert.equal(res.json.response.allowed, true);
    assert.equal(res.json.response.patchType, "JSONPatch");
    assert.match(res.json.response.status.message, /^weft: injected: /);
    const out = fjp.applyPatch(structuredClone(pod), responsePatch(res.json), true, false).newDocument;
    assert.ok(out.spec?.initContainers?.some((c) => c.name === "weft-proxy" && c.restartPolicy === "Always"));
    assert.equal(out.metadata?.labels?.["weft.io/meshed"], "true");
  });

  it("allows a pod in an unlabelled namespace without a patch, saying why", async () => {
    const res = await post(t.webhook.port, t.ca, JSON.stringify(podReview(pod, "legacy")));
    assert.equal(res.status, 200);
    assert.equal(res.json.response.allowed, true);
    assert.equal(res.json.response.patch, undefined);
    assert.match(res.json.response.status.message, /namespace-not-enabled/);
    assert.deepStrictEqual(res.json.response.auditAnnotations, { decision: "namespace-not-enabled" });
  });

  it("returns invalid override annotations as warnings for the user", async () => {
    const typo: V1Pod = { ...pod, metadata: { annotations: { "config.weft.io/proxy-log-level": "loud" } } };
    const res = await post(t.webhook.port, t.ca, JSON.stringify(podReview(typo, "shop")));
    assert.equal(res.json.response.allowed, true);
    assert.match(res.json.response.warnings[0], /proxy-log-level="loud"/);
  });

  it("answers HTTP 400 for a body that is not JSON", async () => {
    const before = await counted(t, "not-admission-review");
    const res = await post(t.webhook.port, t.ca, "{not json");
    assert.equal(res.status, 400);
    assert.equal(res.json.error, "not-admission-review");
    assert.equal(await counted(t, "not-admission-review"), before + 1);
  });

  it("answers HTTP 400 for JSON that is not an AdmissionReview", async () => {
    for (const body of ["[]", "null", '"x"', '{"kind":"Pod"}', '{"kind":"AdmissionReview","request":{}}', '{"kind":"AdmissionReview","request":{"uid":7}}']) {
      const res = await post(t.webhook.port, t.ca, body);
      assert.equal(res.status, 400, body);
      assert.equal(res.json.error, "not-admission-review", body);
    }
  });

  it("allows a review of another apiVersion without a patch, echoing its apiVersion", async () => {
    const review = { ...podReview(pod, "shop"), apiVersion: "admission.k8s.io/v1beta1" };
    const res = await post(t.webhook.port, t.ca, JSON.stringify(review));
    assert.equal(res.status, 200);
    assert.equal(res.json.apiVersion, "admission.k8s.io/v1beta1");
    assert.equal(res.json.response.allowed, true);
    assert.equal(res.json.response.patch, undefined);
    assert.equal(res.json.response.auditAnnotations.decision, "unsupported-api-version");
  });

  it("allows objects that are not pod CREATEs without a patch", async () => {
    const reviews = [
      podReview({ metadata: { name: "s" } } as V1Pod, "shop", { kind: { group: "", version: "v1", kind: "Service" }, resource: { group: "", version: "v1", resource: "services" } }),
      podReview(pod, "shop", { operation: "UPDATE" }),
      podReview(pod, "shop", { subResource: "ephemeralcontainers" }),
    ];
    for (const review of reviews) {
      const res = await post(t.webhook.port, t.ca, JSON.stringify(review));
      assert.equal(res.json.response.allowed, true);
      assert.equal(res.json.response.patch, undefined);
      assert.equal(res.json.response.auditAnnotations.decision, "not-a-pod-create");
    }
  });

  it("allows a pod that does not parse without a patch", async () => {
    const bad = [{ spec: {} }, { spec: { containers: "web" } }, { spec: { containers: [{ image: "x" }] } }, { metadata: { labels: { a: 1 } }, spec: { containers: [{ name: "c" }] } }, "pod", null];
    for (const object of bad) {
      const res = await post(t.webhook.port, t.ca, JSON.stringify(podReview(object as V1Pod, "shop")));
      assert.equal(res.status, 200, JSON.stringify(object));
      assert.equal(res.json.response.allowed, true);
      assert.equal(res.json.response.patch, undefined);
      assert.equal(res.json.response.auditAnnotations.decision, "invalid-pod");
    }
  });

  it("allows without a patch when the namespace cannot be looked up", async () => {
    const res = await post(t.webhook.port, t.ca, JSON.stringify(podReview(pod, "gone")));
    assert.equal(res.json.response.allowed, true);
    assert.equal(res.json.response.patch, undefined);
    assert.equal(res.json.response.auditAnnotations.decision, "namespace-lookup-failed");
  });

  it("refuses a huge body with HTTP 413 and keeps serving", async () => {
    const huge = JSON.stringify(podReview({ ...pod, metadata: { annotations: { big: "x".repeat(2 * 1024 * 1024) } } }, "shop"));
    const res = await post(t.webhook.port, t.ca, huge).catch((err: Error) => ({ status: -1, error: err }));
    // The server may answer 413 and close before the client has sent everything.
    assert.ok(res.status === 413 || res.status === -1, `status ${res.status}`);
    assert.equal(await counted(t, "body-too-large"), 1);
    const ok = await post(t.webhook.port, t.ca, JSON.stringify(podReview(pod, "shop")));
    assert.equal(ok.status, 200);
  });

  it("counts every decision in weft_webhook_admissions_total", async () => {
    const res = await getText(t.webhook.metricsPort!, "/metrics");
    assert.equal(res.status, 200);
    for (const code of ["injected", "namespace-not-enabled", "not-admission-review", "unsupported-api-version", "not-a-pod-create", "invalid-pod", "body-too-large"]) {
      assert.match(res.body, new RegExp(`weft_webhook_admissions_total\\{decision="${code}"\\} [1-9]`), code);
    }
    assert.equal((await getText(t.webhook.metricsPort!, "/ready")).status, 200);
  });
});
