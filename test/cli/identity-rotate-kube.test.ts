// `weft identity` against a real apiserver: the chart's issuer Secret, the renew
// ConfigMap, a trust-manager-style bundle ConfigMap and the injector's configuration,
// written as the control plane and the webhook read them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { parse } from "yaml";
import { createIssuer, createTrustAnchor, splitCertificates } from "../../lib/pki.ts";
import { kubernetesBinariesAvailable, useCluster } from "../cluster/cluster.ts";
import { CLI } from "../control-plane/local-process-harness.ts";

const b64 = (s: string): string => Buffer.from(s).toString("base64");
const unb64 = (s: string | undefined): string => Buffer.from(s ?? "", "base64").toString("utf8");
const fingerprints = (pem: string): string[] => splitCertificates(pem).map((p) => new X509Certificate(p).fingerprint256);

describe("weft identity rotation steps against the apiserver (--kubernetes)", function () {
  this.timeout(180_000);
  before(function () {
    if (!kubernetesBinariesAvailable()) this.skip();
  });
  const cluster = useCluster();
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "weft-identity-kube-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const weft = (args: string[]): { code: number; out: string } => {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 60_000 });
    return { code: r.status ?? 1, out: r.stdout + r.stderr };
  };

  it("adds B, switches to B's issuer, asks for renew, removes A: in the Secret and the renew ConfigMap, leaving the injector's configuration to the chart", async () => {
    const c = cluster();
    const ns = await c.createNamespace("weft");
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    const anchorA = await createTrustAnchor({ lifetimeMs: 86_400_000, commonName: "root A" });
    const issuerA = await createIssuer(anchorA, { lifetimeMs: 3_600_000 });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "weft-identity-issuer" }, data: { "ca.crt": b64(anchorA.certPem), "issuer.crt": b64(issuerA.certPem), "issuer.key": b64(issuerA.keyPem) } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "weft-injector" }, data: { "config.yaml": `version: "1"\ncontrolPlane:\n  address: cp:8086\n  trustAnchorsPem: |\n${anchorA.certPem.trimEnd().split("\n").map((l) => `    ${l}`).join("\n")}\n` } } });
    const target = ["--kubernetes", "--kubeconfig", c.kubeconfigPath, "-n", ns];
    const secret = async () => (await core.readNamespacedSecret({ name: "weft-identity-issuer", namespace: ns })).data ?? {};

    const b = join(dir, "anchor-b");
    assert.equal(weft(["identity", "anchor", "--out", b]).code, 0);
    const anchorBPem = readFileSync(join(b, "ca.crt"), "utf8");
    const add = weft(["identity", "bundle", "add", join(b, "ca.crt"), ...target]);
    assert.equal(add.code, 0, add.out);
    assert.deepEqual(fingerprints(unb64((await secret())["ca.crt"])), [...fingerprints(anchorA.certPem), ...fingerprints(anchorBPem)]);
    const injector = parse((await core.readNamespacedConfigMap({ name: "weft-injector", namespace: ns })).data?.["config.yaml"] ?? "") as { controlPlane: { trustAnchorsPem: string } };
    assert.deepEqual(fingerprints(injector.controlPlane.trustAnchorsPem), fingerprints(anchorA.certPem), "the webhook reads the bundle from the Secret; its Helm-owned ConfigMap is not rewritten");

    // Removing A now would strand the issuer in use.
    const early = weft(["identity", "bundle", "remove", fingerprints(anchorA.certPem)[0] ?? "", ...target]);
    assert.notEqual(early.code, 0);
    assert.match(early.out, /switch the issuer to one signed by a remaining anchor first/);

    const issuerB = join(dir, "issuer-b");
    assert.equal(weft(["identity", "issuer", "--anchor-dir", b, "--out", issuerB]).code, 0);
    const sw = weft(["identity", "switch-issuer", "--issuer-dir", issuerB, ...target]);
    assert.equal(sw.code, 0, sw.out);
    assert.equal(unb64((await secret())["issuer.crt"]), readFileSync(join(issuerB, "issuer.crt"), "utf8"));
    assert.equal(unb64((await secret())["issuer.key"]), readFileSync(join(issuerB, "issuer.key"), "utf8"));

    const renew = weft(["identity", "renew", "--before", "2030-01-02T03:04:05Z", ...target]);
    assert.equal(renew.code, 0, renew.out);
    assert.equal((await core.readNamespacedConfigMap({ name: "weft-identity-renew", namespace: ns })).data?.["renew-before"], "2030-01-02T03:04:05.000Z");

    const remove = weft(["identity", "bundle", "remove", (fingerprints(anchorA.certPem)[0] ?? "").slice(0, 11), ...target]);
    assert.equal(remove.code, 0, remove.out);
    assert.deepEqual(fingerprints(unb64((await secret())["ca.crt"])), fingerprints(anchorBPem));
    const status = weft(["identity", "status", ...target]);
    assert.equal(status.code, 0, status.out);
    assert.match(status.out, /\(signed the issuer\)/);
  });

  it("reads and writes the anchors in a trust-manager Bundle's ConfigMap and cert-manager's tls.crt/tls.key", async () => {
    const c = cluster();
    const ns = await c.createNamespace("weft");
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    const anchorA = await createTrustAnchor({ lifetimeMs: 86_400_000, commonName: "root A" });
    const issuerA = await createIssuer(anchorA, { lifetimeMs: 3_600_000 });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "issuer-cm" }, type: "kubernetes.io/tls", data: { "ca.crt": b64(anchorA.certPem), "tls.crt": b64(issuerA.certPem), "tls.key": b64(issuerA.keyPem) } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "mesh-trust" }, data: { "bundle.pem": anchorA.certPem } } });
    const target = ["--kubernetes", "--kubeconfig", c.kubeconfigPath, "-n", ns, "--secret", "issuer-cm", "--bundle-configmap", "mesh-trust", "--bundle-key", "bundle.pem"];
    const b = join(dir, "anchor-b2");
    assert.equal(weft(["identity", "anchor", "--out", b]).code, 0);
    const add = weft(["identity", "bundle", "add", join(b, "ca.crt"), ...target]);
    assert.equal(add.code, 0, add.out);
    const bundle = (await core.readNamespacedConfigMap({ name: "mesh-trust", namespace: ns })).data?.["bundle.pem"] ?? "";
    assert.equal(fingerprints(bundle).length, 2);
    const issuerB = join(dir, "issuer-b2");
    assert.equal(weft(["identity", "issuer", "--anchor-dir", b, "--out", issuerB]).code, 0);
    assert.equal(weft(["identity", "switch-issuer", "--issuer-dir", issuerB, ...target]).code, 0);
    const data = (await core.readNamespacedSecret({ name: "issuer-cm", namespace: ns })).data ?? {};
    assert.equal(unb64(data["tls.crt"]), readFileSync(join(issuerB, "issuer.crt"), "utf8"));
    assert.equal(data["issuer.crt"], undefined, "cert-manager's key names are kept");
  });
});
