// The configuration (a ConfigMap) and the serving certificate (a Secret) change
// under a running webhook: a good new file applies to the next request, a bad
// one is refused with a log line and the last good version keeps serving.
import assert from "node:assert/strict";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:tls";
import type { V1Pod } from "@kubernetes/client-node";
import { StaticNamespaceSource } from "../../webhook/src/namespace-source.ts";
import { selfSignedCertificate } from "../cluster/self-signed.ts";
import { podReview, post, responsePatch, startTestWebhook, type TestWebhook } from "./webhook-client.ts";

const pod: V1Pod = { metadata: { name: "web" }, spec: { containers: [{ name: "web", image: "nginx" }] } };

async function proxyImage(t: TestWebhook): Promise<string | undefined> {
  const res = await post(t.webhook.port, t.ca, JSON.stringify(podReview(pod, "shop")));
  const add = responsePatch(res.json).find((op) => op.path === "/spec/initContainers");
  return add?.value?.find((c: { name: string }) => c.name === "weft-proxy")?.image;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function servedCertificate(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      const pem = socket.getPeerX509Certificate()?.toString() ?? "";
      socket.end();
      resolve(pem);
    });
    socket.on("error", reject);
  });
}

// A Kubernetes volume update: write beside, then rename over (atomic).
function replaceFile(dir: string, path: string, text: string): void {
  const tmp = join(dir, `.tmp-${Date.now()}`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

describe("webhook reloads", function () {
  this.timeout(30_000);
  let t: TestWebhook;

  before(async () => {
    t = await startTestWebhook({ namespaces: new StaticNamespaceSource({ shop: { "weft.io/inject": "enabled" } }), config: "proxy:\n  image: proxy:v1\n", pollMs: 50 });
  });
  after(async () => t?.stop());

  it("injects with a changed configuration file without a restart", async () => {
    assert.equal(await proxyImage(t), "proxy:v1");
    replaceFile(t.dir, t.configFile, "proxy:\n  image: proxy:v2\n");
    await until("the new image", async () => (await proxyImage(t)) === "proxy:v2");
  });

  it("keeps the last good configuration when the file turns malformed", async () => {
    const before = (await t.webhook.metrics.reloads.get()).values.find((v) => v.labels.file === "config" && v.labels.result === "error")?.value ?? 0;
    replaceFile(t.dir, t.configFile, "proxy: [unclosed\n");
    await until("the refused reload", async () => ((await t.webhook.metrics.reloads.get()).values.find((v) => v.labels.file === "config" && v.labels.result === "error")?.value ?? 0) > before);
    assert.equal(await proxyImage(t), "proxy:v2");
    replaceFile(t.dir, t.configFile, "proxy:\n  ports: { admin: 99999 }\n");
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(t.webhook.reloadConfig(), false);
    assert.equal(await proxyImage(t), "proxy:v2");
  });

  it("serves a renewed certificate to new connections", async () => {
    const old = await servedCertificate(t.webhook.port, t.ca);
    const next = selfSignedCertificate("127.0.0.1");
    replaceFile(t.dir, t.keyFile, next.key);
    replaceFile(t.dir, t.certFile, next.cert);
    await until("the new certificate", async () => {
      try {
        return (await servedCertificate(t.webhook.port, next.cert)) !== old;
      } catch {
        return false;
      }
    });
    const res = await post(t.webhook.port, next.cert, JSON.stringify(podReview(pod, "shop")));
    assert.equal(res.status, 200);
  });

  it("keeps serving the last good certificate when the new pair does not match", async () => {
    const a = selfSignedCertificate("127.0.0.1");
    const b = selfSignedCertificate("127.0.0.1");
    // The certificate written last is the one served: trust it as the CA.
    const served = await servedCertificate(t.webhook.port, readFileSync(t.certFile, "utf8"));
    replaceFile(t.dir, t.certFile, a.cert);
    replaceFile(t.dir, t.keyFile, b.key);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(t.webhook.reloadCertificate(), false);
    assert.equal(await servedCertificate(t.webhook.port, served), served);
  });
});
