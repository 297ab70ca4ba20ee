// The I/O edge of `weft check`: reads the cluster with the user's kubeconfig and turns
// what it finds into the pure verdicts of check-results.ts.
import { X509Certificate } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  VersionApi,
} from "@kubernetes/client-node";
import { COMPONENT_PERMISSIONS, type ComponentPermissions } from "./check-component-permissions.ts";
import { discoveryFact, meshedPodFacts } from "./check-gather-proxies.ts";
import { checkProxyTrust } from "./check-trust.ts";
import {
  checkAccess,
  checkApiServer,
  checkComponentAccess,
  checkDeployment,
  checkExpiry,
  checkProxies,
  checkWebhookCaBundle,
  type AccessFact,
  type CaBundleFact,
  type CertFact,
  type CheckResult,
  type DeploymentFact,
} from "./check-results.ts";
import { servedCertificate } from "./check-webhook-tls.ts";
import { checkGatewayApi, type GatewayApiCrdFact } from "./check-gateway-api.ts";
import { checkCni, type CniFact } from "./check-cni.ts";
import { parseInjectorConfig } from "../../webhook/src/injector-config.ts";

/** What `helm install` of the chart creates, cluster-wide and in the release namespace. */
function installPermissions(ns: string): Omit<AccessFact, "allowed">[] {
  return [
    { verb: "create", group: "", resource: "namespaces" },
    { verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterroles" },
    { verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings" },
    { verb: "create", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations" },
    { verb: "create", group: "apps", resource: "deployments", namespace: ns },
    { verb: "create", group: "", resource: "services", namespace: ns },
    { verb: "create", group: "", resource: "secrets", namespace: ns },
    { verb: "create", group: "", resource: "serviceaccounts", namespace: ns },
    { verb: "create", group: "", resource: "configmaps", namespace: ns },
  ];
}

function errorOf(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

async function access(kc: KubeConfig, wanted: Omit<AccessFact, "allowed">[]): Promise<AccessFact[]> {
  const authz = kc.makeApiClient(AuthorizationV1Api);
  return Promise.all(
    wanted.map(async (w) => {
      const r = await authz.createSelfSubjectAccessReview({
        body: { spec: { resourceAttributes: { verb: w.verb, group: w.group, resource: w.resource, namespace: w.namespace } } },
      });
      return { ...w, allowed: r.status?.allowed === true };
    }),
  );
}

async function deployment(kc: KubeConfig, ns: string, name: string): Promise<DeploymentFact> {
  try {
    const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name, namespace: ns });
    return { name, found: true, desired: d.spec?.replicas ?? 1, ready: d.status?.readyReplicas ?? 0 };
  } catch {
    return { name, found: false, desired: 0, ready: 0 };
  }
}

function certFact(pem: string): CertFact {
  const cert = new X509Certificate(pem);
  return { subject: cert.subject.replace(/\n/g, ", "), notAfter: new Date(cert.validTo) };
}

async function caBundle(kc: KubeConfig, ns: string): Promise<CaBundleFact> {
  const unreached: CaBundleFact["served"] = { reached: false, address: "", detail: "" };
  const none = { matches: false, detail: "" };
  let bundle: string | undefined;
  let service: { namespace?: string; name: string; port?: number } | undefined;
  try {
    const mwc = await kc.makeApiClient(AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: "weft-injector" });
    bundle = mwc.webhooks?.[0]?.clientConfig.caBundle;
    service = mwc.webhooks?.[0]?.clientConfig.service;
  } catch {
    return { found: false, caBundleValid: false, detail: "", served: unreached, secret: none };
  }
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(Buffer.from(bundle ?? "", "base64"));
  } catch (err) {
    return { found: true, caBundleValid: false, detail: errorOf(err).message, served: unreached, secret: none };
  }
  const served = await servedByWebhook(kc, service, ca.toString());
  return { found: true, caBundleValid: true, detail: "", served, secret: await secretVerifies(kc, ns, ca) };
}

/** The handshake with the Service the webhook configuration names, at its ClusterIP. */
async function servedByWebhook(kc: KubeConfig, ref: { namespace?: string; name: string; port?: number } | undefined, caPem: string): Promise<CaBundleFact["served"]> {
  if (ref?.namespace === undefined) return { reached: false, address: "(no service in clientConfig)", detail: "the webhook is not called through a Service" };
  const port = ref.port ?? 443;
  let ip = "";
  try {
    const svc = await kc.makeApiClient(CoreV1Api).readNamespacedService({ name: ref.name, namespace: ref.namespace });
    ip = svc.spec?.clusterIP ?? "";
  } catch (err) {
    return { reached: false, address: `${ref.name}.${ref.namespace}.svc:${port}`, detail: `cannot read the Service: ${errorOf(err).message}` };
  }
  if (ip === "" || ip === "None") return { reached: false, address: `${ref.name}.${ref.namespace}.svc:${port}`, detail: "the Service has no ClusterIP" };
  return servedCertificate({ host: ip, port, servername: `${ref.name}.${ref.namespace}.svc`, caPem });
}

async function secretVerifies(kc: KubeConfig, ns: string, ca: X509Certificate): Promise<CaBundleFact["secret"]> {
  try {
    const secret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name: "weft-webhook-tls", namespace: ns });
    const leaf = new X509Certificate(Buffer.from(secret.data?.["tls.crt"] ?? "", "base64"));
    const ok = leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
    return { matches: ok, detail: ok ? "" : `serving certificate ${leaf.subject} is not issued by ${ca.subject}` };
  } catch (err) {
    return { matches: false, detail: `cannot read Secret weft-webhook-tls: ${errorOf(err).message}` };
  }
}

/** What a component's ServiceAccount may do, asked of the apiserver as that ServiceAccount would be. */
async function componentAccess(kc: KubeConfig, ns: string, component: ComponentPermissions): Promise<AccessFact[] | Error> {
  const authz = kc.makeApiClient(AuthorizationV1Api);
  const user = `system:serviceaccount:${ns}:${component.serviceAccount}`;
  // The groups the apiserver gives a ServiceAccount's token, so bindings to them count too.
  const groups = ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"];
  try {
    return await Promise.all(
      component.permissions.map(async (p) => {
        const r = await authz.createSubjectAccessReview({
          body: { spec: { user, groups, resourceAttributes: { verb: p.verb, group: p.group, resource: p.resource } } },
        });
        return { ...p, allowed: r.status?.allowed === true };
      }),
    );
  } catch (err) {
    return errorOf(err);
  }
}

/** The installed Gateway API CRDs' release annotations; a CRD that is not there is left out. */
async function gatewayApiCrds(kc: KubeConfig): Promise<GatewayApiCrdFact | Error> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crds: GatewayApiCrdFact["crds"] = {};
  try {
    for (const plural of ["httproutes", "grpcroutes", "referencegrants"]) {
      const name = `${plural}.gateway.networking.k8s.io`;
      try {
        const crd = await api.readCustomResourceDefinition({ name });
        const annotations = crd.metadata?.annotations ?? {};
        crds[name] = { version: annotations["gateway.networking.k8s.io/bundle-version"] ?? "", channel: annotations["gateway.networking.k8s.io/channel"] ?? "" };
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
    }
  } catch (err) {
    return errorOf(err);
  }
  return { crds };
}

/** CNI mode: the injector's config, the weft-cni DaemonSet, and its pod on every node. */
async function cniFact(kc: KubeConfig, ns: string): Promise<CniFact | Error> {
  const core = kc.makeApiClient(CoreV1Api);
  const notFound = (err: unknown) => (err as { code?: number }).code === 404;
  try {
    const config = await core.readNamespacedConfigMap({ name: "weft-injector", namespace: ns }).catch((err: unknown) => (notFound(err) ? undefined : Promise.reject(err)));
    const parsed = parseInjectorConfig(config?.data?.["config.yaml"] ?? "");
    const injectorCni = parsed.ok && parsed.value.cni !== undefined;
    const ds = await kc.makeApiClient(AppsV1Api).readNamespacedDaemonSet({ name: "weft-cni", namespace: ns }).catch((err: unknown) => (notFound(err) ? undefined : Promise.reject(err)));
    if (!ds) return { injectorCni, daemonSet: false, nodes: [] };
    const [nodes, pods] = await Promise.all([core.listNode(), core.listNamespacedPod({ namespace: ns, labelSelector: "app.kubernetes.io/component=cni" })]);
    return {
      injectorCni,
      daemonSet: true,
      nodes: nodes.items.map((n) => {
        const pod = pods.items.find((p) => p.spec?.nodeName === n.metadata?.name && !p.metadata?.deletionTimestamp);
        const ready = pod?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
        return { name: n.metadata?.name ?? "", ...(pod ? { pod: { name: pod.metadata?.name ?? "", ready } } : {}) };
      }),
    };
  } catch (err) {
    return errorOf(err);
  }
}

export interface ProxiesRetry {
  attempts: number;
  intervalMs: number;
}

/**
 * Read again while the verdict fails: right after a change every stream is behind until
 * its proxy ACKs, and a pod that just started connects within a second or two.
 */
async function proxies(kc: KubeConfig, ns: string, retry: ProxiesRetry): Promise<CheckResult[]> {
  let results: CheckResult[] = [];
  for (let attempt = 1; attempt <= retry.attempts; attempt++) {
    const [cp, pods] = await Promise.all([discoveryFact(kc, ns), meshedPodFacts(kc)]);
    results = pods instanceof Error
      ? [{ name: "proxies", ok: false, message: `cannot list meshed pods: ${pods.message}`, hint: "weft check needs list pods cluster-wide" }]
      : [checkProxies(cp, pods, ns), checkProxyTrust(pods.flatMap((p) => (p.proxy instanceof Error ? [] : [{ pod: p.pod, namespace: p.namespace, anchors: p.proxy.anchors, issuer: p.proxy.issuer }])))];
    if (results.every((r) => r.ok)) return results;
    if (attempt < retry.attempts) await new Promise((r) => setTimeout(r, retry.intervalMs));
  }
  return results;
}

async function identity(kc: KubeConfig, ns: string, key: "ca.crt" | "issuer.crt"): Promise<CertFact | Error> {
  try {
    const secret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name: "weft-identity-issuer", namespace: ns });
    const pem = Buffer.from(secret.data?.[key] ?? "", "base64").toString("utf8");
    return certFact(pem);
  } catch (err) {
    return new Error(`cannot read ${key} from Secret weft-identity-issuer: ${errorOf(err).message}`);
  }
}

export interface CheckOptions {
  now?: Date;
  proxiesRetry?: ProxiesRetry;
}

export async function runChecks(kc: KubeConfig, ns: string, pre: boolean, options: CheckOptions = {}): Promise<CheckResult[]> {
  let version: Awaited<ReturnType<VersionApi["getCode"]>> | Error;
  try {
    version = await kc.makeApiClient(VersionApi).getCode();
  } catch (err) {
    version = errorOf(err);
  }
  const results = [checkApiServer(version)];
  if (version instanceof Error) return results;
  if (pre) {
    results.push(checkAccess("rbac-install", await access(kc, installPermissions(ns))));
    return results;
  }
  const now = options.now ?? new Date();
  results.push(checkDeployment("control-plane", await deployment(kc, ns, "weft-control-plane")));
  results.push(checkDeployment("webhook", await deployment(kc, ns, "weft-webhook")));
  for (const component of COMPONENT_PERMISSIONS) {
    const subject = { serviceAccount: component.serviceAccount, namespace: ns, clusterRole: component.clusterRole };
    results.push(checkComponentAccess(component.check, subject, await componentAccess(kc, ns, component)));
  }
  results.push(checkWebhookCaBundle(await caBundle(kc, ns)));
  results.push(checkExpiry("trust-anchor", await identity(kc, ns, "ca.crt"), now));
  results.push(checkExpiry("issuer", await identity(kc, ns, "issuer.crt"), now));
  results.push(checkGatewayApi(await gatewayApiCrds(kc)));
  const cni = checkCni(await cniFact(kc, ns));
  if (cni) results.push(cni);
  results.push(...(await proxies(kc, ns, options.proxiesRetry ?? { attempts: 3, intervalMs: 2000 })));
  return results;
}
