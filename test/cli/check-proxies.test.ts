// `weft check`'s proxies facts read through a real apiserver's pods/proxy subresource.
// The pods are API objects whose IP is this host's, so the apiserver's proxy reaches
// HTTP servers this test runs as the control plane's and the proxies' admin ports
// (no node needed; the e2e does it with real ones).
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { AppsV1Api, type V1Pod } from "@kubernetes/client-node";
import { discoveryFact, meshedPodFacts } from "../../cli/src/check-gather-proxies.ts";
import { checkProxies } from "../../cli/src/check-results.ts";
import { kubernetesBinariesAvailable, useCluster } from "../cluster/cluster.ts";

/** An address of this host the apiserver will proxy to (it refuses loopback). */
function hostAddress(): string | undefined {
  return Object.values(networkInterfaces()).flat().find((i) => i !== undefined && i.family === "IPv4" && !i.internal)?.address;
}

describe("weft check: proxies through the apiserver's pods proxy", function () {
  this.timeout(180_000);
  const ip = hostAddress();
  before(function () {
    if (!kubernetesBinariesAvailable() || ip === undefined) this.skip();
  });
  const cluster = useCluster();
  const servers: Server[] = [];
  const bodies = new Map<number, string>();

  async function metricsServer(body: string): Promise<number> {
    const server = createServer((req, res) => {
      res.writeHead(req.url === "/metrics" ? 200 : 404, { "content-type": "text/plain; version=0.0.4" });
      res.end(req.url === "/metrics" ? bodies.get(port) : "not found");
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "0.0.0.0", r));
    const port = (server.address() as AddressInfo).port;
    bodies.set(port, body);
    return port;
  }

  after(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  const streamsMetrics = (streams: number, behind: number) =>
    `# HELP weft_discovery_streams Open proxy discovery streams\n# TYPE weft_discovery_streams gauge\nweft_discovery_streams ${streams}\n` +
    `# TYPE weft_discovery_streams_behind gauge\nweft_discovery_streams_behind ${behind}\nweft_discovery_acks_total 7\n`;
  const proxyMetrics = (version: string | null) =>
    `# TYPE weft_proxy_snapshot_info gauge\n${version === null ? "" : `weft_proxy_snapshot_info{version="${version}"} 1\n`}weft_proxy_snapshot_age_seconds 3.5\n`;

  it("counts the control plane's streams and names meshed pods whose proxy holds no snapshot", async () => {
    const c = cluster();
    await c.createNode("check-node");
    const weftNs = await c.createNamespace("weft");
    const meshNs = await c.createNamespace("shop");
    const selector = { "app.kubernetes.io/name": "weft", "app.kubernetes.io/component": "control-plane" };
    // Replicas 0: the Deployment only supplies the selector; the pod below stands in for its replica.
    await c.kubeConfig.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: weftNs,
      body: {
        metadata: { name: "weft-control-plane" },
        spec: { replicas: 0, selector: { matchLabels: selector }, template: { metadata: { labels: selector }, spec: { containers: [{ name: "control-plane", image: "none" }] } } },
      },
    });
    const cpPort = await metricsServer(streamsMetrics(2, 0));
    await c.createReadyPod(weftNs, {
      metadata: { name: "weft-control-plane-abc", labels: selector },
      spec: { containers: [{ name: "control-plane", image: "none", ports: [{ name: "admin", containerPort: cpPort }] }] },
    }, ip!, "check-node");
    const meshed = async (name: string, body: string, labels: Record<string, string> = { "weft.io/meshed": "true" }): Promise<number> => {
      const port = await metricsServer(body);
      const pod: V1Pod = {
        metadata: { name, labels },
        spec: {
          initContainers: [{ name: "weft-proxy", image: "none", restartPolicy: "Always", ports: [{ name: "weft-admin", containerPort: port }] }],
          containers: [{ name: "app", image: "none" }],
        },
      };
      await c.createReadyPod(meshNs, pod, ip!, "check-node");
      return port;
    };
    await meshed("client", proxyMetrics("k1.4"));
    const serverPort = await meshed("server", proxyMetrics("k1.4"));
    // Labelled but without the proxy container, and a proxy container without the label: neither is meshed.
    await c.createReadyPod(meshNs, { metadata: { name: "plain", labels: { "weft.io/meshed": "true" } }, spec: { containers: [{ name: "app", image: "none" }] } }, ip!, "check-node");

    const cp = await discoveryFact(c.kubeConfig, weftNs);
    assert.deepEqual(cp, { streams: 2, behind: 0, replicas: 1 });
    const pods = await meshedPodFacts(c.kubeConfig);
    assert.ok(!(pods instanceof Error), String(pods));
    assert.deepEqual(pods.map((p) => [p.pod, p.proxy]).sort(), [["client", { version: "k1.4" }], ["server", { version: "k1.4" }]]);
    const ok = checkProxies(cp, pods, weftNs);
    assert.equal(ok.ok, true, ok.message);
    assert.equal(ok.message, "2 meshed pods, 2 discovery streams, all on their current version");

    // The server's proxy lost its stream and never got a snapshot; one stream is also behind.
    bodies.set(serverPort, proxyMetrics(null));
    bodies.set(cpPort, streamsMetrics(1, 1));
    const later = await meshedPodFacts(c.kubeConfig);
    assert.ok(!(later instanceof Error), String(later));
    const failing = checkProxies(await discoveryFact(c.kubeConfig, weftNs), later, weftNs);
    assert.equal(failing.ok, false);
    assert.equal(failing.message,
      `proxies of pods ${meshNs}/server hold no snapshot (no working discovery stream); 2 meshed pods running but only 1 discovery streams open; 1 of 1 streams have not ACKed their current version`);
    assert.equal(failing.hint, `kubectl logs -n ${meshNs} server -c weft-proxy`);

    // A control plane older than weft_discovery_streams_behind: its streams still count.
    bodies.set(cpPort, "weft_discovery_streams 2\n");
    assert.deepEqual(await discoveryFact(c.kubeConfig, weftNs), { streams: 2, behind: null, replicas: 1 });
  });

  it("reports a control plane without a running pod as an error, not a crash", async () => {
    const c = cluster();
    const ns = await c.createNamespace("empty");
    const cp = await discoveryFact(c.kubeConfig, ns);
    assert.ok(cp instanceof Error);
    assert.match(cp.message, /not ?found|404/i);
  });
});
