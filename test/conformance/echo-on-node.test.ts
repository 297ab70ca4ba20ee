// What the Gateway API conformance suite does on a node, without Weft and without the
// suite: CoreDNS runs as the cluster's DNS (test/cluster/coredns.ts), the echo-advanced
// image runs under the name and pull policy the suite's manifests give it and with their
// flags, and `kubectl exec` of the image's `client` in an echo pod reaches the echo
// Service by its short name, as the suite's mesh tests do. The shared node set-up
// imports the images and runs CoreDNS as kube-dns (the kubelet's clusterDNS), so the
// pods here use the default ClusterFirst DNS policy, as the suite's do.
import { strict as assert } from "node:assert";
import { CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { kubernetesBinariesAvailable, nodeBinariesAvailable, useCluster, type TestCluster } from "../cluster/cluster.ts";
import { waitFor } from "../support/wait.ts";
import { ECHO_ADVANCED_IMAGE, componentBuilt } from "./paths.ts";

// The suite's echo container (conformance/mesh/manifests.yaml of v1.6.3).
const ECHO_ARGS = ["--tcp=9090", "--port=8080", "--grpc=7070", "--port=8443", "--tls=8443", "--crt=/cert.crt", "--key=/cert.key"];

function echoPod(name: string, version: string): V1Pod {
  return {
    metadata: { name, labels: { app: "echo", version } },
    spec: {
      terminationGracePeriodSeconds: 1,
      automountServiceAccountToken: false,
      containers: [{ name: "echo", image: ECHO_ADVANCED_IMAGE, imagePullPolicy: "IfNotPresent", args: ECHO_ARGS, readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }],
    },
  };
}

describe("test cluster: the conformance suite's echo pods with CoreDNS on a real node", function () {
  this.timeout(300_000);
  before(function () {
    if (!kubernetesBinariesAvailable() || !nodeBinariesAvailable() || process.getuid?.() !== 0 || !componentBuilt("echo") || !componentBuilt("coredns")) {
      console.warn("    needs root, the node binaries and the conformance components (node test/setup/prepare.ts): skipping");
      this.skip();
    }
  });
  const cluster = useCluster({ node: true });

  async function kubectl(c: TestCluster, args: string[], input?: string): Promise<string> {
    const r = await c.kubectl(args, input === undefined ? undefined : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  }

  it("CoreDNS answers for Services and the suite's exec of `client` reaches the echo Service by short name", async () => {
    const c = cluster();
    assert.equal(c.nodeHost?.clusterDns, true, "the node runs CoreDNS as kube-dns");
    await kubectl(c, ["rollout", "status", "-n", "kube-system", "deployment/coredns", "--timeout", "120s"]);

    const ns = await c.createNamespace("echo");
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: "echo" },
        spec: {
          selector: { app: "echo" },
          ports: [
            { name: "http", port: 80, appProtocol: "http", targetPort: 8080 },
            { name: "grpc", port: 7070, appProtocol: "kubernetes.io/h2c" },
          ],
        },
      },
    });
    await core.createNamespacedPod({ namespace: ns, body: echoPod("echo-v1", "v1") });
    await kubectl(c, ["wait", "-n", ns, "pod/echo-v1", "--for=condition=Ready", "--timeout=120s"]);

    const exec = (...args: string[]): Promise<string> => kubectl(c, ["exec", "-n", ns, "echo-v1", "-c", "echo", "--", "client", ...args]);
    // The first lookups may race CoreDNS's first sync of the new Service.
    const http = await waitFor("`client http://echo/` in the pod to get 200", async () => {
      const out = await exec("http://echo/");
      return /StatusCode=200/.test(out) ? out : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1_000 });
    assert.match(http, /ServicePort=8080/);
    assert.match(await exec("grpc://echo:7070"), /Proto=GRPC/);
    assert.match(await exec(`http://echo.${ns}.svc.cluster.local:80/`), /StatusCode=200/);
  });
});
