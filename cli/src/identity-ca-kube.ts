// The CA as the chart lays it out in Kubernetes, for `weft identity`'s
// rotation commands: the issuer Secret (issuer.crt/issuer.key as the chart and
// `weft identity init` write them, or tls.crt/tls.key as cert-manager does),
// the trust bundle (the Secret's ca.crt, or a trust-manager Bundle's target
// ConfigMap and key), and the "renew now" ConfigMap. Nothing else: the
// webhook mounts the bundle's source itself (new pods bootstrap with what was
// written here once the kubelet updates the volume), and the chart renders
// these objects from what it finds, so a later `helm upgrade` agrees with
// every field written here and server-side apply sees no conflict.
import { CoreV1Api, type KubeConfig, type V1ConfigMap, type V1Secret } from "@kubernetes/client-node";
import type { CaState, CaTarget } from "./identity-ca-target.ts";

export interface KubeCaOptions {
  namespace: string;
  /** The issuer Secret (chart value identity.external.existingSecret, or weft-identity-issuer). */
  secret: string;
  /** A trust-manager Bundle's target ConfigMap holding the anchors; unset: the Secret's ca.crt. */
  bundleConfigMap?: string;
  bundleKey: string;
  renewConfigMap: string;
}

export const DEFAULT_KUBE_CA: KubeCaOptions = {
  namespace: "weft",
  secret: "weft-identity-issuer",
  bundleKey: "ca.crt",
  renewConfigMap: "weft-identity-renew",
};

export const RENEW_KEY = "renew-before";

function b64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

function unb64(data: Record<string, string> | undefined, key: string): string | undefined {
  const v = data?.[key];
  return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
}

function statusOf(err: unknown): number | undefined {
  const e = err as { code?: number; statusCode?: number };
  return e.code ?? e.statusCode;
}

export function kubeCaTarget(kc: KubeConfig, o: KubeCaOptions): CaTarget {
  const core = kc.makeApiClient(CoreV1Api);
  const ns = o.namespace;
  const secret = (): Promise<V1Secret> => core.readNamespacedSecret({ name: o.secret, namespace: ns });
  const names = (s: V1Secret): { cert: string; key: string } => (s.data?.["tls.crt"] !== undefined && s.data["issuer.crt"] === undefined ? { cert: "tls.crt", key: "tls.key" } : { cert: "issuer.crt", key: "issuer.key" });
  const patchConfigMap = async (name: string, data: Record<string, string>): Promise<void> => {
    let existing: V1ConfigMap | undefined;
    try {
      existing = await core.readNamespacedConfigMap({ name, namespace: ns });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    if (!existing) {
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, namespace: ns, labels: { "app.kubernetes.io/part-of": "weft" } }, data } });
      return;
    }
    existing.data = { ...existing.data, ...data };
    await core.replaceNamespacedConfigMap({ name, namespace: ns, body: existing });
  };
  return {
    description: `Secret ${ns}/${o.secret}${o.bundleConfigMap ? ` and ConfigMap ${ns}/${o.bundleConfigMap} (${o.bundleKey})` : ""}`,
    async read(): Promise<CaState> {
      const s = await secret();
      const n = names(s);
      const issuerCertPem = unb64(s.data, n.cert);
      const issuerKeyPem = unb64(s.data, n.key);
      let anchorsPem: string | undefined;
      if (o.bundleConfigMap) {
        const cm = await core.readNamespacedConfigMap({ name: o.bundleConfigMap, namespace: ns });
        anchorsPem = cm.data?.[o.bundleKey];
      } else {
        anchorsPem = unb64(s.data, "ca.crt");
      }
      if (issuerCertPem === undefined || issuerKeyPem === undefined) throw new Error(`Secret ${ns}/${o.secret} has no ${n.cert} and ${n.key}`);
      if (anchorsPem === undefined) throw new Error(o.bundleConfigMap ? `ConfigMap ${ns}/${o.bundleConfigMap} has no key ${o.bundleKey}` : `Secret ${ns}/${o.secret} has no ca.crt`);
      return { anchorsPem, issuerCertPem, issuerKeyPem };
    },
    async writeAnchors(pem) {
      if (o.bundleConfigMap) {
        await patchConfigMap(o.bundleConfigMap, { [o.bundleKey]: pem });
      } else {
        const s = await secret();
        s.data = { ...s.data, "ca.crt": b64(pem) };
        await core.replaceNamespacedSecret({ name: o.secret, namespace: ns, body: s });
      }
    },
    async writeIssuer(certPem, keyPem) {
      const s = await secret();
      const n = names(s);
      // One object, one write: the control plane never sees a certificate with the other's key.
      s.data = { ...s.data, [n.cert]: b64(certPem), [n.key]: b64(keyPem) };
      await core.replaceNamespacedSecret({ name: o.secret, namespace: ns, body: s });
    },
    async writeRenewBefore(at) {
      await patchConfigMap(o.renewConfigMap, { [RENEW_KEY]: at.toISOString() });
    },
  };
}
