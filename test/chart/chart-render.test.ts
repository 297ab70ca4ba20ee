// The chart renders a complete, least-privilege install whose injector config is
// exactly what the webhook parses, whose webhook configuration has the webhook's
// own shape, and whose trial CA the control plane's loader accepts.
import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Deployment, V1MutatingWebhookConfiguration, V1PodSpec, V1ClusterRole, V1Pod } from "@kubernetes/client-node";
import { parseTracingConfig, rawTracingConfigFromEnv, TRACING_DEFAULTS } from "../../lib/tracing-config.ts";
import { parseInjectorConfig, type InjectorConfig } from "../../webhook/src/injector-config.ts";
import { injectPod } from "../../webhook/src/injector.ts";
import { mutatingWebhookConfiguration, WEBHOOK_CONFIGURATION_NAME } from "../../webhook/src/webhook-configuration.ts";
import { caBundleFromPem } from "../../control-plane/src/ca-files.ts";
import { createIssuer, createTrustAnchor } from "../../lib/pki.ts";
import { find, helmBinary, render, type K8sObject } from "./helm.ts";

const b64 = (s: unknown): string => Buffer.from(String(s), "base64").toString("utf8");
const secretData = (o: K8sObject): Record<string, string> => Object.fromEntries(Object.entries(o.data as Record<string, string>).map(([k, v]) => [k, b64(v)]));
const podSpec = (o: K8sObject): V1PodSpec => {
  const spec = o.kind === "Pod" ? (o.spec as V1PodSpec | undefined) : (o as unknown as V1Deployment).spec?.template.spec;
  assert.ok(spec, `${o.kind}/${o.metadata.name} has a pod spec`);
  return spec;
};
const injectorConfigText = (objects: K8sObject[]): string => (find(objects, "ConfigMap", "weft-injector").data as Record<string, string>)["config.yaml"] ?? "";
const injectorConfig = (objects: K8sObject[]): InjectorConfig => {
  const parsed = parseInjectorConfig(injectorConfigText(objects));
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.message);
  return parsed.value;
};
/** WEFT_TRACING_* of a container, as name -> value. */
const tracingEnv = (env: { name: string; value?: string }[] | undefined): Record<string, string | undefined> =>
  Object.fromEntries((env ?? []).filter((e) => e.name.startsWith("WEFT_TRACING_")).map((e) => [e.name, e.value]));
const controlPlaneTracingEnv = (objects: K8sObject[]) => tracingEnv(podSpec(find(objects, "Deployment", "weft-control-plane")).containers[0]?.env);
/** The proxy the webhook would inject into a Deployment's pod, from the rendered injector config. */
const injectedProxyTracingEnv = (objects: K8sObject[]) => {
  const pod: V1Pod = { metadata: { namespace: "shop", labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx" }] } };
  const out = injectPod(pod, { name: "shop", labels: { "weft.io/inject": "enabled" } }, injectorConfig(objects)).pod;
  const proxy = [...(out.spec?.initContainers ?? []), ...(out.spec?.containers ?? [])].find((c) => c.name === "weft-proxy");
  assert.ok(proxy, "a proxy is injected");
  return tracingEnv(proxy.env);
};

describe("chart: rendering", function () {
  this.timeout(120_000);
  before(function () {
    if (helmBinary() === undefined) this.skip();
  });

  describe("with default values", () => {
    let objects: K8sObject[];
    before(() => {
      objects = render();
    });

    it("renders the control plane, the webhook, their RBAC, the hooks and the webhook configuration", () => {
      const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
      for (const want of [
        "ClusterRole/weft-control-plane",
        "ClusterRole/weft-webhook",
        "ClusterRoleBinding/weft-control-plane",
        "ClusterRoleBinding/weft-webhook",
        "ConfigMap/weft-injector",
        "Deployment/weft-control-plane",
        "Deployment/weft-webhook",
        "MutatingWebhookConfiguration/weft-injector",
        "Pod/weft-test-control-plane-ready",
        "Secret/weft-identity-issuer",
        "Secret/weft-webhook-tls",
        "Service/weft-control-plane",
        "Service/weft-webhook",
        "ServiceAccount/weft-control-plane",
        "ServiceAccount/weft-webhook",
      ]) {
        assert.ok(kinds.includes(want), `missing ${want}`);
      }
    });

    it("labels everything with app.kubernetes.io/* labels", () => {
      for (const o of objects) {
        for (const key of ["name", "instance", "version", "managed-by", "part-of"]) {
          assert.ok(o.metadata.labels?.[`app.kubernetes.io/${key}`], `${o.kind}/${o.metadata.name} lacks app.kubernetes.io/${key}`);
        }
      }
    });

    it("runs every container non-root with a read-only root filesystem, no capabilities and resources set", () => {
      const workloads = objects.filter((o) => ["Deployment", "Job", "Pod"].includes(o.kind));
      assert.equal(workloads.length, 3);
      for (const o of workloads) {
        const spec = podSpec(o);
        assert.equal(spec.securityContext?.runAsNonRoot, true, `${o.metadata.name}: runAsNonRoot`);
        for (const c of spec.containers) {
          assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${c.name}: readOnlyRootFilesystem`);
          assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${c.name}: allowPrivilegeEscalation`);
          assert.deepEqual(c.securityContext?.capabilities?.drop, ["ALL"]);
          assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory && c.resources.limits?.memory, `${c.name}: resources`);
        }
      }
    });

    it("grants each component only the verbs it needs", () => {
      const rules = (name: string) => (find(objects, "ClusterRole", name) as unknown as V1ClusterRole).rules;
      assert.deepEqual(rules("weft-webhook"), [{ apiGroups: [""], resources: ["namespaces"], verbs: ["get"] }]);
      assert.deepEqual(rules("weft-control-plane"), [
        { apiGroups: [""], resources: ["services", "pods", "namespaces"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["policy.weft.io"], resources: ["authorizationpolicies"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["gateway.networking.k8s.io"], resources: ["httproutes", "grpcroutes", "referencegrants"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["gateway.networking.k8s.io"], resources: ["httproutes/status", "grpcroutes/status"], verbs: ["update", "patch"] },
        { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
      ]);
      assert.deepEqual((find(render(["--set", "uninstallHook.enabled=true"]), "ClusterRole", "weft-uninstall") as unknown as V1ClusterRole).rules, [
        { apiGroups: ["admissionregistration.k8s.io"], resources: ["mutatingwebhookconfigurations"], resourceNames: ["weft-injector"], verbs: ["delete"] },
      ]);
    });

    it("writes an injector config the webhook's own parser accepts, from the chart's values", () => {
      const parsed = parseInjectorConfig(injectorConfigText(objects));
      assert.ok(parsed.ok, parsed.ok ? "" : parsed.message);
      const c = parsed.value;
      assert.equal(c.proxy.image, "ghcr.io/weft-mesh/weft-proxy:0.1.0");
      assert.equal(c.init.image, "ghcr.io/weft-mesh/weft-proxy-init:0.1.0");
      assert.deepEqual(c.proxy.ports, { outbound: 4140, inbound: 4143, admin: 4191 });
      assert.deepEqual(c.proxy.resources, { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } });
      assert.equal(c.controlPlane.address, "weft-control-plane.weft-system.svc:8086");
      assert.equal(c.controlPlane.namespace, "weft-system");
      assert.equal(c.webhook.failurePolicy, "Ignore");
      assert.match(c.controlPlane.trustAnchorsPem, /BEGIN CERTIFICATE/);
    });

    it("passes values through to the injected proxy's spec", () => {
      const parsed = parseInjectorConfig(
        injectorConfigText(render(["--set", "proxy.resources.cpu=200m,proxy.resources.cpuLimit=1,proxy.logLevel=debug,image.tag=dev,image.registry=registry.example/weft,proxy.skipOutboundPorts=3306"])),
      );
      assert.ok(parsed.ok, parsed.ok ? "" : parsed.message);
      assert.deepEqual(parsed.value.proxy.resources, { requests: { cpu: "200m", memory: "64Mi" }, limits: { cpu: "1", memory: "256Mi" } });
      assert.equal(parsed.value.proxy.logLevel, "debug");
      assert.equal(parsed.value.proxy.image, "registry.example/weft/weft-proxy:dev");
      assert.equal(parsed.value.skipOutboundPorts, "3306");
    });

    it("generates an ECDSA P-256 trial CA that the control plane's issuer loader accepts", async () => {
      const data = secretData(find(objects, "Secret", "weft-identity-issuer"));
      assert.equal(createPrivateKey(data["issuer.key"] ?? "").asymmetricKeyDetails?.namedCurve, "prime256v1");
      const bundle = await caBundleFromPem(data["issuer.crt"] ?? "", data["issuer.key"] ?? "", data["ca.crt"] ?? "");
      assert.ok(bundle.ok, bundle.ok ? "" : `${bundle.code}: ${bundle.message}`);
      // The proxies are given the same anchors the control plane signs under.
      const parsed = parseInjectorConfig(injectorConfigText(objects));
      assert.ok(parsed.ok);
      assert.equal(parsed.value.controlPlane.trustAnchorsPem.trim(), (data["ca.crt"] ?? "").trim());
    });

    it("registers the webhook with the same configuration as webhook/src/webhook-configuration.ts, trusting its serving certificate", () => {
      const rendered = find(objects, "MutatingWebhookConfiguration", WEBHOOK_CONFIGURATION_NAME) as unknown as V1MutatingWebhookConfiguration;
      const parsed = parseInjectorConfig(injectorConfigText(objects));
      assert.ok(parsed.ok);
      const caBundle = rendered.webhooks?.[0]?.clientConfig.caBundle ?? "";
      const expected = mutatingWebhookConfiguration({
        config: parsed.value,
        caBundlePem: b64(caBundle),
        target: { service: { namespace: "weft-system", name: "weft-webhook" } },
      });
      assert.deepEqual(rendered.webhooks, expected.webhooks);
      const tls = secretData(find(objects, "Secret", "weft-webhook-tls"));
      const ca = new X509Certificate(b64(caBundle));
      const serving = new X509Certificate(tls["tls.crt"] ?? "");
      assert.ok(serving.verify(ca.publicKey), "serving certificate is signed by the caBundle");
      assert.match(serving.subjectAltName ?? "", /DNS:weft-webhook\.weft-system\.svc\b/);
    });
  });

  describe("replicas", () => {
    it("one replica each gets no PodDisruptionBudget, and more than one gets one per component that lets one replica go at a time", () => {
      assert.deepEqual(render().filter((o) => o.kind === "PodDisruptionBudget"), []);
      const objects = render(["--set", "controlPlane.replicas=2", "--set", "webhook.replicas=3"]);
      for (const [name, component, replicas] of [["weft-control-plane", "control-plane", 2], ["weft-webhook", "webhook", 3]] as const) {
        const pdb = find(objects, "PodDisruptionBudget", name);
        const spec = pdb.spec as { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
        assert.equal(spec.maxUnavailable, 1);
        const deployment = find(objects, "Deployment", name) as unknown as V1Deployment;
        assert.equal(deployment.spec?.replicas, replicas);
        assert.deepEqual(spec.selector.matchLabels, deployment.spec?.selector.matchLabels);
        assert.equal(spec.selector.matchLabels["app.kubernetes.io/component"], component);
      }
    });
  });

  describe("tracing", () => {
    it("is off by default: no tracing for the control plane or the injected proxies", () => {
      const objects = render();
      assert.equal(injectorConfig(objects).tracing, undefined);
      assert.deepEqual(controlPlaneTracingEnv(objects), {});
      assert.deepEqual(injectedProxyTracingEnv(objects), {});
    });

    it("turns on with tracing.endpoint alone, with the same defaults the proxy and control plane have", () => {
      const objects = render(["--set", "tracing.endpoint=otel-collector.observability:4317"]);
      assert.deepEqual(injectorConfig(objects).tracing, {
        endpoint: "otel-collector.observability:4317",
        protocol: TRACING_DEFAULTS.protocol,
        samplingRatio: TRACING_DEFAULTS.samplingRatio,
        propagation: TRACING_DEFAULTS.propagation,
        maxQueueSize: TRACING_DEFAULTS.maxQueueSize,
      });
      assert.deepEqual(controlPlaneTracingEnv(objects), {
        WEFT_TRACING_ENDPOINT: "otel-collector.observability:4317",
        WEFT_TRACING_PROTOCOL: "grpc",
        WEFT_TRACING_SAMPLING_RATIO: "0.01",
        WEFT_TRACING_PROPAGATION: "tracecontext,b3multi",
        WEFT_TRACING_MAX_QUEUE_SIZE: "2048",
      });
    });

    it("gives the control plane and every injected proxy the same settings from one tracing block", () => {
      const objects = render([
        "--set",
        "tracing.endpoint=http://collector.observability:4318,tracing.protocol=http,tracing.samplingRatio=0.25,tracing.maxQueueSize=4096",
        "--set",
        "tracing.propagation={b3,tracecontext}",
      ]);
      const cp = controlPlaneTracingEnv(objects);
      const proxy = injectedProxyTracingEnv(objects);
      assert.equal(proxy.WEFT_TRACING_SERVICE_NAME, "web");
      delete proxy.WEFT_TRACING_SERVICE_NAME;
      assert.deepEqual(proxy, cp);
      // And what both processes' parser makes of it.
      const parsed = parseTracingConfig(rawTracingConfigFromEnv(cp));
      assert.ok(parsed.ok, parsed.ok ? "" : parsed.message);
      assert.deepEqual(parsed.value.export && { endpoint: parsed.value.export.endpoint, protocol: parsed.value.export.protocol, maxQueueSize: parsed.value.export.maxQueueSize }, {
        endpoint: "http://collector.observability:4318/v1/traces",
        protocol: "http",
        maxQueueSize: 4096,
      });
      assert.equal(parsed.value.samplingRatio, 0.25);
      assert.deepEqual(parsed.value.propagation, ["b3", "tracecontext"]);
    });
  });

  describe("with the operator's own CA", () => {
    let dir: string;
    let pems: { anchors: string; cert: string; key: string };
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "weft-chart-"));
      const anchor = await createTrustAnchor({ commonName: "operator anchor", lifetimeMs: 86_400_000 });
      const issuer = await createIssuer(anchor, { commonName: "operator issuer", lifetimeMs: 3_600_000 });
      pems = { anchors: anchor.certPem, cert: issuer.certPem, key: issuer.keyPem };
      writeFileSync(join(dir, "ca.crt"), pems.anchors);
      writeFileSync(join(dir, "issuer.crt"), pems.cert);
      writeFileSync(join(dir, "issuer.key"), pems.key);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("stores the given PEM files and hands their anchors to the proxies", () => {
      const objects = render([
        "--set-file",
        `identity.external.trustAnchorsPem=${join(dir, "ca.crt")},identity.external.issuerCertPem=${join(dir, "issuer.crt")},identity.external.issuerKeyPem=${join(dir, "issuer.key")}`,
      ]);
      const data = secretData(find(objects, "Secret", "weft-identity-issuer"));
      assert.equal(data["ca.crt"], pems.anchors);
      assert.equal(data["issuer.crt"], pems.cert);
      assert.equal(data["issuer.key"], pems.key);
      assert.equal(find(objects, "Secret", "weft-identity-issuer").metadata.annotations?.["weft.io/generated"], undefined);
      const parsed = parseInjectorConfig(injectorConfigText(objects));
      assert.ok(parsed.ok);
      assert.equal(parsed.value.controlPlane.trustAnchorsPem, pems.anchors);
    });

    it("mounts an existing Secret instead of creating one", () => {
      const objects = render(["--set", "identity.external.existingSecret=my-ca", "--set-file", `identity.external.trustAnchorsPem=${join(dir, "ca.crt")}`]);
      assert.equal(objects.filter((o) => o.kind === "Secret" && o.metadata.name === "weft-identity-issuer").length, 0);
      const volumes = podSpec(find(objects, "Deployment", "weft-control-plane")).volumes ?? [];
      assert.equal(volumes.find((v) => v.name === "issuer")?.secret?.secretName, "my-ca");
      const parsed = parseInjectorConfig(injectorConfigText(objects));
      assert.ok(parsed.ok);
      assert.equal(parsed.value.controlPlane.trustAnchorsPem, pems.anchors);
    });

    it("reads a cert-manager issuer Secret and a trust-manager bundle ConfigMap, and mounts the renew-now ConfigMap, for live rotation", () => {
      const objects = render(["--set", "identity.external.existingSecret=weft-issuer-cm,identity.trustBundle.configMap=weft-trust,identity.trustBundle.key=bundle.pem", "--set-file", `identity.external.trustAnchorsPem=${join(dir, "ca.crt")}`]);
      const spec = podSpec(find(objects, "Deployment", "weft-control-plane"));
      const volumes = spec.volumes ?? [];
      assert.equal(volumes.find((v) => v.name === "issuer")?.secret?.secretName, "weft-issuer-cm");
      assert.equal(volumes.find((v) => v.name === "trust-bundle")?.configMap?.name, "weft-trust");
      assert.equal(volumes.find((v) => v.name === "identity-renew")?.configMap?.name, "weft-identity-renew");
      const args = spec.containers[0]?.args ?? [];
      assert.ok(args.includes("--anchors=/var/run/weft/trust-bundle/bundle.pem"), args.join(" "));
      assert.ok(args.includes("--renew-file=/var/run/weft/identity-renew/renew-before"), args.join(" "));
      assert.equal((find(objects, "ConfigMap", "weft-identity-renew") as unknown as { data: Record<string, string> }).data["renew-before"], "");
    });

    it("refuses half an external CA with a message naming what is missing", () => {
      assert.throws(() => render(["--set-file", `identity.external.issuerCertPem=${join(dir, "issuer.crt")}`]), /give all three of trustAnchorsPem, issuerCertPem and issuerKeyPem/);
    });
  });
});
