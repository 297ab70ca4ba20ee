// Cluster DNS for the test node: CoreDNS (built by test/conformance/build.sh, packed
// by test/conformance/images.ts) as the kube-dns Service, the objects a real cluster's
// add-on has. Every test node creates them once it is Ready (test/cluster/node.ts), and
// its kubelet has `clusterDNS: [DEFAULT_DNS_CLUSTER_IP]` (node-config.ts).
//
// CoreDNS listens on 1053 as a non-root user with no capabilities; the Service maps
// port 53 to it. Nothing leaves the machine here, so there is no `forward` (and so no
// `loop`) plugin: names outside the cluster domain get REFUSED at once instead of
// timing out upstream.
import { stringify } from "yaml";

export const COREDNS_NAMESPACE = "kube-system";
/** The first usable address of the test cluster's Service range (10.96.0.0/16), as kubeadm picks. */
export const DEFAULT_DNS_CLUSTER_IP = "10.96.0.10";
const LISTEN_PORT = 1053;
const HEALTH_PORT = 8080;
const READY_PORT = 8181;
const LABELS = { "k8s-app": "kube-dns" };

export interface CorednsOptions {
  /** Image reference already in the node's containerd (COREDNS_IMAGE). */
  image: string;
  clusterIP?: string;
  clusterDomain?: string;
}

export interface CorefileOptions {
  clusterDomain?: string;
  /** DNS, health and readiness ports: 1053, 8080 and 8181 in the pod. */
  ports?: { dns: number; health: number; ready: number };
  /** A kubeconfig to read the API with; in the pod, the ServiceAccount's own credentials. */
  kubeconfig?: string;
}

export function corefile(options: CorefileOptions = {}): string {
  const ports = options.ports ?? { dns: LISTEN_PORT, health: HEALTH_PORT, ready: READY_PORT };
  const kubeconfig = options.kubeconfig === undefined ? "" : `\n        kubeconfig ${options.kubeconfig}`;
  return `.:${ports.dns} {
    errors
    health :${ports.health} {
        lameduck 5s
    }
    ready :${ports.ready}
    kubernetes ${options.clusterDomain ?? "cluster.local"} in-addr.arpa ip6.arpa {${kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    cache 30
    reload
    loadbalance
}
`;
}

/** The objects, in apply order. */
export function corednsObjects(options: CorednsOptions): object[] {
  const meta = (name: string): { name: string; namespace: string; labels: typeof LABELS } => ({ name, namespace: COREDNS_NAMESPACE, labels: LABELS });
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta("coredns") },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "system:coredns", labels: LABELS },
      rules: [
        { apiGroups: [""], resources: ["endpoints", "services", "pods", "namespaces"], verbs: ["list", "watch"] },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "system:coredns", labels: LABELS },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:coredns" },
      subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: COREDNS_NAMESPACE }],
    },
    { apiVersion: "v1", kind: "ConfigMap", metadata: meta("coredns"), data: { Corefile: corefile({ clusterDomain: options.clusterDomain }) } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta("coredns"),
      spec: {
        replicas: 1,
        selector: { matchLabels: LABELS },
        template: {
          metadata: { labels: LABELS },
          spec: {
            serviceAccountName: "coredns",
            priorityClassName: "system-cluster-critical",
            // Its own resolver is the node's, never itself.
            dnsPolicy: "Default",
            tolerations: [{ key: "CriticalAddonsOnly", operator: "Exists" }],
            containers: [
              {
                name: "coredns",
                image: options.image,
                // Imported into the node's containerd; there is no registry to pull from.
                imagePullPolicy: "Never",
                args: ["-conf", "/etc/coredns/Corefile"],
                ports: [
                  { name: "dns", containerPort: LISTEN_PORT, protocol: "UDP" },
                  { name: "dns-tcp", containerPort: LISTEN_PORT, protocol: "TCP" },
                ],
                resources: { requests: { cpu: "50m", memory: "40Mi" }, limits: { memory: "170Mi" } },
                livenessProbe: { httpGet: { path: "/health", port: HEALTH_PORT }, initialDelaySeconds: 10, timeoutSeconds: 5, failureThreshold: 5 },
                readinessProbe: { httpGet: { path: "/ready", port: READY_PORT }, periodSeconds: 2 },
                volumeMounts: [{ name: "config", mountPath: "/etc/coredns", readOnly: true }],
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: 65532,
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"] },
                },
              },
            ],
            volumes: [{ name: "config", configMap: { name: "coredns", items: [{ key: "Corefile", path: "Corefile" }] } }],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { ...meta("kube-dns"), annotations: { "prometheus.io/scrape": "false" } },
      spec: {
        selector: LABELS,
        clusterIP: options.clusterIP ?? DEFAULT_DNS_CLUSTER_IP,
        ports: [
          { name: "dns", port: 53, targetPort: LISTEN_PORT, protocol: "UDP" },
          { name: "dns-tcp", port: 53, targetPort: LISTEN_PORT, protocol: "TCP" },
        ],
      },
    },
  ];
}

/** The objects as one multi-document YAML stream, for `kubectl apply -f -`. */
export function corednsManifest(options: CorednsOptions): string {
  return corednsObjects(options)
    .map((o) => stringify(o, { lineWidth: 0 }))
    .join("---\n");
}
