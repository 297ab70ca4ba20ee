// The configuration (a ConfigMap) and the serving certificate (a Secret) change
// under a running webhook: a good new file applies to the next request, a bad
// one is refused with a log line and the last good version keeps serving.
// The file polling runs on a fake clock: a tick past the poll and the settling
// time has read the files by the time it returns, so nothing here waits.
// (test/webhook/file-reload.test.ts sees a real symlink swap on real time.)
import assert from "node:assert/strict";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:tls";
import type { V1Pod } from "@kubernetes/client-node";
import { PROXY_ENV_INJECTOR } from "../../lib/proxy-contract.ts";
import { createTrustAnchor } from "../../lib/pki.ts";
import { StaticNamespaceSource } from "../../webhook/src/namespace-source.ts";
import { selfSignedCertificate } from "../cluster/self-signed.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { podReview, post, responsePatch, startTestWebhook, type TestWebhook } from "./webhook-client.ts";

const pod: V1Pod = { metadata: { name: "web" }, spec: { containers: [{ name: "web", image: "nginx" }] } };

async function proxyImage(t: TestWebhook): Promise<string | undefined> {
  const res = await post(t.webhook.port, t.ca, JSON.stringify(podReview(pod, "shop")));
  const add = responsePatch(res.json).find((op) => op.path === "/spec/initContainers");
  return add?.value?.find((c: { name: string }) => c.name === "weft-proxy")?.image;
}

const POLL_MS = 2_000;
// More than the poll interval plus file-reload.ts's settling time (100 ms).
const PAST_NEXT_RELOAD_MS = POLL_MS + 1_000;

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
let serial = 0;
function replaceFile(dir: string, path: string, text: string): void {
  const tmp = join(dir, `.tmp-${serial++}`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

describe("webhook reloads", function () {
  this.timeout(30_000);
  let t: TestWebhook;
  let clock: FakeClock;

  /** Reloads counted so far, by file ("config", "certificate") and result ("ok", "error"). */
  async function reloads(file: string, result: "ok" | "error"): Promise<number> {
    return (await t.webhook.metrics.reloads.get()).values.find((v) => v.labels.file === file && v.labels.result === result)?.value ?? 0;
  }

  before(async () => {
    clock = new FakeClock();
    t = await startTestWebhook({ namespaces: new StaticNamespaceSource({ shop: { "weft.io/inject": "enabled" } }), config: "proxy:\n  image: proxy:v1\n", pollMs: POLL_MS, clock });
  });
  after(async () => t?.stop());

  it("injects with a changed configuration file without a restart", async () => {
    assert.equal(await proxyImage(t), "proxy:v1");
    const loaded = await reloads("config", "ok");
    replaceFile(t.dir, t.configFile, "proxy:\n  image: proxy:v2\n");
    clock.tick(PAST_NEXT_RELOAD_MS);
    assert.equal(await reloads("config", "ok"), loaded + 1);
    assert.equal(await proxyImage(t), "proxy:v2");
  });

  it("keeps the last good configuration when the file turns malformed", async () => {
    const refused = await reloads("config", "error");
    replaceFile(t.dir, t.configFile, "proxy: [unclosed\n");
    clock.tick(PAST_NEXT_RELOAD_MS);
    assert.equal(await reloads("config", "error"), refused + 1, "the malformed file is read and refused");
    assert.equal(await proxyImage(t), "proxy:v2");
    replaceFile(t.dir, t.configFile, "proxy:\n  ports: { admin: 99999 }\n");
    clock.tick(PAST_NEXT_RELOAD_MS);
    assert.equal(await reloads("config", "error"), refused + 2, "the invalid file is read and refused");
    assert.equal(t.webhook.reloadConfig(), false);
    assert.equal(await proxyImage(t), "proxy:v2");
  });

  it("serves a renewed certificate to new connections", async () => {
    const old = await servedCertificate(t.webhook.port, t.ca);
    const loaded = await reloads("certificate", "ok");
    const next = selfSignedCertificate("127.0.0.1");
    replaceFile(t.dir, t.keyFile, next.key);
    replaceFile(t.dir, t.certFile, next.cert);
    clock.tick(PAST_NEXT_RELOAD_MS);
    assert.equal(await reloads("certificate", "ok"), loaded + 1);
    assert.notEqual(await servedCertificate(t.webhook.port, next.cert), old);
    const res = await post(t.webhook.port, next.cert, JSON.stringify(podReview(pod, "shop")));
    assert.equal(res.status, 200);
  });

  it("keeps serving the last good certificate when the new pair does not match", async () => {
    const a = selfSignedCertificate("127.0.0.1");
    const b = selfSignedCertificate("127.0.0.1");
    // The certificate written last is the one served: trust it as the CA.
    const served = await servedCertificate(t.webhook.port, readFileSync(t.certFile, "utf8"));
    const refused = await reloads("certificate", "error");
    replaceFile(t.dir, t.certFile, a.cert);
    replaceFile(t.dir, t.keyFile, b.key);
    clock.tick(PAST_NEXT_RELOAD_MS);
    assert.equal(await reloads("certificate", "error"), refused + 1, "the mismatched pair is read and refused");
    assert.equal(t.webhook.reloadCertificate(), false);
    assert.equal(await servedCertificate(t.webhook.port, served), served);
  });
});

describe("webhook reloads the trust bundle injected proxies bootstrap with", function () {
  this.timeout(30_000);
  let t: TestWebhook;
  let clock: FakeClock;
  let anchorA = "";
  let anchorB = "";

  async function bootstrapBundle(): Promise<string | undefined> {
    const res = await post(t.webhook.port, t.ca, JSON.stringify(podReview(pod, "shop")));
    const containers = responsePatch(res.json).find((op) => op.path === "/spec/initContainers")?.value as { name: string; env?: { name: string; value?: string }[] }[] | undefined;
    return containers?.find((c) => c.name === "weft-proxy")?.env?.find((e) => e.name === PROXY_ENV_INJECTOR.trustAnchorsPem)?.value;
  }

  before(async () => {
    clock = new FakeClock();
    anchorA = (await createTrustAnchor({ lifetimeMs: 86_400_000, commonName: "root A" })).certPem;
    anchorB = (await createTrustAnchor({ lifetimeMs: 86_400_000, commonName: "root B" })).certPem;
    // The configuration's own bundle is what the chart rendered at install: the file wins over it.
    const stale = anchorA.trimEnd().split("\n").map((l) => `    ${l}`).join("\n");
    t = await startTestWebhook({ namespaces: new StaticNamespaceSource({ shop: { "weft.io/inject": "enabled" } }), config: `controlPlane:\n  trustAnchorsPem: |\n${stale}\n`, trustAnchors: anchorA + anchorB, pollMs: POLL_MS, clock });
  });
  after(async () => t?.stop());

  it("takes the bundle from its file, not the configuration, and follows the file when a rotation rewrites it", async () => {
    assert.equal(await bootstrapBundle(), anchorA + anchorB);
    replaceFile(t.dir, t.trustAnchorsFile, anchorB);
    clock.tick(PAST_NEXT_RELOAD_MS);
    assert.equal(await bootstrapBundle(), anchorB, "an anchor removed from the Secret leaves new pods' bundle");
  });

  it("keeps the last good bundle when the file holds no certificate", async () => {
    const held = await bootstrapBundle();
    for (const bad of ["", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"]) {
      replaceFile(t.dir, t.trustAnchorsFile, bad);
      clock.tick(PAST_NEXT_RELOAD_MS);
      assert.equal(t.webhook.reloadConfig(), false);
      assert.equal(await bootstrapBundle(), held);
    }
  });
});
