// The webhook against a real kube-apiserver: registered with its caBundle
// through the MutatingWebhookConfiguration webhook-configuration.ts generates,
// it injects the pods users create (with kubectl, and through a Deployment's
// ReplicaSet controller) and leaves the rest untouched; with the webhook down,
// failurePolicy decides whether pods get through.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { AdmissionregistrationV1Api, AppsV1Api, CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { silentLogger } from "../../lib/log.ts";
import { DEFAULT_INJECTOR_CONFIG, type InjectorConfig } from "../../webhook/src/injector-config.ts";
import { KubernetesNamespaceSource } from "../../webhook/src/namespace-source-kubernetes.ts";
import { mutatingWebhookConfiguration, WEBHOOK_CONFIGURATION_NAME, WEBHOOK_NAMES } from "../../webhook/src/webhook-configuration.ts";
import { runWebhook, type RunningWebhook } from "../../webhook/src/webhook.ts";
import { binary } from "../cluster/binaries.ts";
import { kubernetesBinariesAvailable, useCluster } from "../cluster/cluster.ts";
import { waitFor } from "../support/wait.ts";
import { selfSignedCertificate } from "../cluster/self-signed.ts";

const ENABLED = { "weft.io/inject": "enabled" };

function podYaml(name: string, namespace: string, extra: { annotations?: Record<string, string>; labels?: Record<string, string>; hostNetwork?: boolean } = {}): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, annotations: extra.annotations, labels: { app: name, ...extra.labels } },
    spec: {
      hostNetwork: extra.hostNetwork,
      containers: [{ name: "app", image: "registry.invalid/app:1", ports: [{ name: "http", containerPort: 8080 }], readinessProbe: { httpGet: { path: "/ready", port: "http" } } }],
    },
  });
}

function names(pod: V1Pod): { init: string[]; containers: string[] } {
  return { init: (pod.spec?.initContainers ?? []).map((c) => c.name), containers: (pod.spec?.containers ?? []).map((c) => c.name) };
}

function assertInjected(pod: V1Pod): void {
  assert.deepStrictEqual(names(pod).init.slice(0, 2), ["weft-init", "weft-proxy"], JSON.stringify(names(pod)));
  const proxy = pod.spec?.initContainers?.[1];
  assert.equal(proxy?.restartPolicy, "Always");
  assert.equal(pod.metadata?.labels?.["weft.io/meshed"], "true");
  assert.match(pod.metadata?.annotations?.["weft.io/injected-by"] ?? "", /^weft /);
  const token = pod.spec?.volumes?.find((v) => v.name === "weft-identity-token");
  assert.equal(token?.projected?.sources?.[0]?.serviceAccountToken?.audience, "identity.weft.io");
}

function assertUntouched(pod: V1Pod): void {
  assert.equal(pod.metadata?.labels?.["weft.io/meshed"], undefined);
  assert.equal(pod.metadata?.annotations?.["weft.io/injected-by"], undefined);
  assert.ok(!names(pod).init.includes("weft-init"), JSON.stringify(names(pod)));
}

describe("injection webhook with a real kube-apiserver", function () {
  this.timeout(180_000);
  before(function () {
    if (!kubernetesBinariesAvailable()) this.skip();
  });
  const cluster = useCluster();
  let webhook: RunningWebhook | undefined;
  let dir = "";
  let ca = "";
  let port = 0;
  let config: InjectorConfig = DEFAULT_INJECTOR_CONFIG;

  const core = () => cluster().kubeConfig.makeApiClient(CoreV1Api);
  const admission = () => cluster().kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const readPod = (name: string, namespace: string) => core().readNamespacedPod({ name, namespace });
  const createPod = (json: string) => {
    const body = JSON.parse(json) as V1Pod;
    return core().createNamespacedPod({ namespace: body.metadata?.namespace ?? "default", body });
  };

  async function register(failurePolicy: "Ignore" | "Fail"): Promise<void> {
    config = { ...config, webhook: { failurePolicy, timeoutSeconds: 5 } };
    const body = mutatingWebhookConfiguration({ config, caBundlePem: ca, target: { url: `https://127.0.0.1:${port}/inject` } });
    try {
      const existing = await admission().readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION_NAME });
      body.metadata = { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion };
      await admission().replaceMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION_NAME, body });
    } catch (err) {
      if (!String(err).includes("404") && !String(err).includes("NotFound")) throw err;
      await admission().createMutatingWebhookConfiguration({ body });
    }
  }

  // The apiserver picks up webhook configurations through an informer: probe
  // with server-side dry-run pods until the webhook's effect shows.
  async function untilInjecting(namespace: string): Promise<void> {
    await waitFor("the apiserver to call the webhook", async () => {
      const pod = await core().createNamespacedPod({ namespace, dryRun: "All", body: JSON.parse(podYaml("probe", namespace)) as V1Pod });
      return names(pod).init.includes("weft-proxy");
    }, { timeoutMs: 60_000, intervalMs: 100 });
  }

  before(async function () {
    this.timeout(60_000);
    dir = mkdtempSync(join(tmpdir(), "weft-webhook-apiserver-"));
    const tls = selfSignedCertificate("127.0.0.1");
    ca = tls.cert;
    writeFileSync(join(dir, "tls.crt"), tls.cert);
    writeFileSync(join(dir, "tls.key"), tls.key);
    writeFileSync(join(dir, "config.yaml"), 'nativeSidecar: "on"\n');
    const started = await runWebhook({
      tlsCertFile: join(dir, "tls.crt"),
      tlsKeyFile: join(dir, "tls.key"),
      configFile: join(dir, "config.yaml"),
      port: 0,
      host: "127.0.0.1",
      namespaces: new KubernetesNamespaceSource(cluster().kubeConfig, { ttlMs: 500 }),
      logger: silentLogger(),
    });
    if (!started.ok) throw new Error(started.message);
    webhook = started.value;
    port = webhook.port;
    config = webhook.config();
    await register("Ignore");
    await untilInjecting(await cluster().createNamespace("ready", ENABLED));
  });

  after(async () => {
    await webhook?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("is registered with its caBundle and both selector entries", async () => {
    const stored = await admission().readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION_NAME });
    assert.deepStrictEqual(stored.webhooks?.map((w) => w.name), [WEBHOOK_NAMES.namespace, WEBHOOK_NAMES.pod]);
    for (const w of stored.webhooks ?? []) assert.equal(Buffer.from(w.clientConfig.caBundle ?? "", "base64").toString(), ca);
  });

  it("stores a pod created with kubectl in a labelled namespace injected", async function () {
    if (!existsSync(binary("kubectl"))) this.skip();
    const c = cluster();
    const ns = await c.createNamespace("meshed", ENABLED);
    await untilInjecting(ns);
    const res = await c.kubectl(["apply", "-f", "-"], { input: podYaml("web", ns) });
    assert.equal(res.code, 0, res.stderr);
    const pod = await readPod("web", ns);
    assertInjected(pod);
    // The app's HTTP probe now goes through the proxy's admin port.
    assert.equal(pod.spec?.containers?.[0]?.readinessProbe?.httpGet?.path, "/app-health/app/readyz");
  });

  it("stores pods untouched when unlabelled, opted out, hostNetwork or already injected", async () => {
    const c = cluster();
    const plain = await c.createNamespace("plain");
    const meshed = await c.createNamespace("meshed", ENABLED);
    await untilInjecting(meshed);
    const already = JSON.parse(podYaml("already", meshed)) as V1Pod;
    already.spec!.initContainers = [{ name: "weft-proxy", image: "registry.invalid/weft:0", restartPolicy: "Always" }];
    const inputs = [
      podYaml("unlabelled", plain),
      podYaml("opted-out", meshed, { annotations: { "weft.io/inject": "disabled" } }),
      podYaml("host-network", meshed, { hostNetwork: true }),
      JSON.stringify(already),
    ];
    for (const input of inputs) await createPod(input);
    for (const [name, ns] of [["unlabelled", plain], ["opted-out", meshed], ["host-network", meshed], ["already", meshed]] as const) {
      assertUntouched(await readPod(name, ns));
    }
    assert.deepStrictEqual(names(await readPod("already", meshed)), { init: ["weft-proxy"], containers: ["app"] });
  });

  it("injects a pod that opts in by label in an unlabelled namespace", async () => {
    const c = cluster();
    const plain = await c.createNamespace("plain");
    await createPod(podYaml("opt-in", plain, { labels: ENABLED }));
    assertInjected(await readPod("opt-in", plain));
  });

  it("injects the pods of a Deployment", async () => {
    const c = cluster();
    const ns = await c.createNamespace("deploy", ENABLED);
    await untilInjecting(ns);
    await c.kubeConfig.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "web" } },
          template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "registry.invalid/web:1" }] } },
        },
      },
    });
    let pods: V1Pod[] = [];
    await waitFor("the ReplicaSet controller to create 2 pods", async () => {
      pods = (await core().listNamespacedPod({ namespace: ns, labelSelector: "app=web" })).items;
      return pods.length === 2;
    }, { timeoutMs: 120_000, intervalMs: 100 });
    for (const pod of pods) assertInjected(pod);
  });

  it("lets pods through with Ignore and refuses them with Fail when the webhook is down", async () => {
    const c = cluster();
    const ns = await c.createNamespace("down", ENABLED);
    await untilInjecting(ns);
    await webhook?.close();
    webhook = undefined;

    await createPod(podYaml("ignored", ns));
    assertUntouched(await readPod("ignored", ns));

    await register("Fail");
    let attempt = 0;
    let refusal = "";
    await waitFor("the apiserver to apply failurePolicy Fail", async () => {
      try {
        await createPod(podYaml(`refused-${++attempt}`, ns));
        return false;
      } catch (err) {
        refusal = String((err as { body?: unknown }).body ?? err);
        return true;
      }
    }, { timeoutMs: 60_000, intervalMs: 100 });
    let message = refusal;
    try {
      message = (JSON.parse(refusal) as { message: string }).message;
    } catch {
      // not a Status object: match the raw text
    }
    assert.ok(message.includes(`failed calling webhook "${WEBHOOK_NAMES.namespace}"`), message);
  });
});
