// The chart's tap wiring: the apiserver verifies the tap API by the tap
// Service's DNS name against the APIService's caBundle (no insecureSkipTLSVerify),
// the control plane serves that certificate, and injected proxies serve tap to
// the control plane's own identity.
import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import type { V1APIService, V1Deployment, V1Pod } from "@kubernetes/client-node";
import { parseInjectorConfig } from "../../webhook/src/injector-config.ts";
import { injectPod } from "../../webhook/src/injector.ts";
import { find, helmBinary, render, type K8sObject } from "./helm.ts";

const b64 = (s: unknown): string => Buffer.from(String(s), "base64").toString("utf8");

describe("chart: tap", function () {
  this.timeout(60_000);
  let objects: K8sObject[];
  before(function () {
    if (helmBinary() === undefined) this.skip();
    objects = render([], "mesh-ops");
  });

  it("registers the APIService with a caBundle that verifies the tap Service's serving certificate by its DNS name", () => {
    const api = find(objects, "APIService", "v1alpha1.tap.weft.io") as unknown as V1APIService;
    assert.equal(api.spec?.insecureSkipTLSVerify, undefined);
    assert.equal(api.spec?.service?.name, "weft-tap");
    const ca = new X509Certificate(b64(api.spec?.caBundle));
    const data = find(objects, "Secret", "weft-tap-tls").data as Record<string, string>;
    const cert = new X509Certificate(b64(data["tls.crt"]));
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), "the serving certificate is signed by the caBundle");
    assert.equal(cert.checkHost("weft-tap.mesh-ops.svc"), "weft-tap.mesh-ops.svc", cert.subjectAltName);
    assert.ok(cert.checkPrivateKey(createPrivateKey(b64(data["tls.key"]))), "tls.key is the certificate's key");
  });

  it("has the control plane serve the tap API with that certificate", () => {
    const spec = (find(objects, "Deployment", "weft-control-plane") as unknown as V1Deployment).spec?.template.spec;
    const container = spec?.containers[0];
    assert.ok(container, "the control plane container");
    const args = container.args ?? [];
    assert.ok(args.includes("--tap-tls-cert=/etc/weft/tap-tls/tls.crt"), args.join(" "));
    assert.ok(args.includes("--tap-tls-key=/etc/weft/tap-tls/tls.key"), args.join(" "));
    assert.ok(container.volumeMounts?.some((m) => m.name === "tap-tls" && m.mountPath === "/etc/weft/tap-tls"));
    assert.equal(spec?.volumes?.find((v) => v.name === "tap-tls")?.secret?.secretName, "weft-tap-tls");
  });

  it("tells injected proxies to serve tap to the control plane's identity", () => {
    const sa = (find(objects, "Deployment", "weft-control-plane") as unknown as V1Deployment).spec?.template.spec?.serviceAccountName;
    const config = parseInjectorConfig((find(objects, "ConfigMap", "weft-injector").data as Record<string, string>)["config.yaml"] ?? "");
    assert.ok(config.ok, config.ok ? "" : config.message);
    const pod: V1Pod = { metadata: { namespace: "shop" }, spec: { containers: [{ name: "web", image: "nginx" }] } };
    const out = injectPod(pod, { name: "shop", labels: { "weft.io/inject": "enabled" } }, config.value).pod;
    const proxy = [...(out.spec?.initContainers ?? []), ...(out.spec?.containers ?? [])].find((c) => c.name === "weft-proxy");
    assert.equal(proxy?.env?.find((e) => e.name === "WEFT_TAP_IDENTITY")?.value, `spiffe://cluster.local/ns/mesh-ops/sa/${sa ?? ""}`);
  });
});
