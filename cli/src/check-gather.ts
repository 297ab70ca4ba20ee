// The I/O edge of `weft check`: reads the cluster with the user's kubeconfig and turns
// what it finds into the pure verdicts of check-results.ts.
import { X509Certificate } from "node:crypto";
import type {
  KubeConfig} from "@kubernetes/client-node";
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  VersionApi,
} from "@kubernetes/client-node";
import {
  checkAccess,
  checkApiServer,
  checkDeployment,
  checkExpiry,
  checkWebhookCaBundle,
  type AccessFact,
  type CertFact,
  type CheckResult,
  type DeploymentFact,
} from "./check-results.ts";

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

async function caBundle(kc: KubeConfig, ns: string): Promise<Parameters<typeof checkWebhookCaBundle>[0]> {
  let bundle: string | undefined;
  try {
    const mwc = await kc.makeApiClient(AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: "weft-injector" });
    bundle = mwc.webhooks?.[0]?.clientConfig.caBundle;
  } catch {
    return { found: false, caBundleValid: false, servingMatches: false, detail: "" };
  }
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(Buffer.from(bundle ?? "", "base64"));
  } catch (err) {
    return { found: true, caBundleValid: false, servingMatches: false, detail: errorOf(err).message };
  }
  try {
    const secret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name: "weft-webhook-tls", namespace: ns });
    const leaf = new X509Certificate(Buffer.from(secret.data?.["tls.crt"] ?? "", "base64"));
    const ok = leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
    return { found: true, caBundleValid: true, servingMatches: ok, detail: ok ? "" : `serving certificate ${leaf.subject} is not issued by ${ca.subject}` };
  } catch (err) {
    return { found: true, caBundleValid: true, servingMatches: false, detail: `cannot read Secret weft-webhook-tls: ${errorOf(err).message}` };
  }
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

export async function runChecks(kc: KubeConfig, ns: string, pre: boolean, now = new Date()): Promise<CheckResult[]> {
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
  results.push(checkDeployment("control-plane", await deployment(kc, ns, "weft-control-plane")));
  results.push(checkDeployment("webhook", await deployment(kc, ns, "weft-webhook")));
  results.push(checkWebhookCaBundle(await caBundle(kc, ns)));
  results.push(checkExpiry("trust-anchor", await identity(kc, ns, "ca.crt"), now));
  results.push(checkExpiry("issuer", await identity(kc, ns, "issuer.crt"), now));
  return results;
}
