// Cluster DNS (test/cluster/coredns.ts) against a real apiserver: the manifest applies,
// and CoreDNS, built by test/conformance/build.sh and run on the host with the
// manifest's Corefile and the coredns ServiceAccount's credentials (so its RBAC is what
// is tested), answers Service names. The shared cluster set-up does not run it yet;
// a node needs `clusterDNS` in its kubelet configuration to use it.
import { strict as assert } from "node:assert";
import { Resolver } from "node:dns/promises";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { freePorts } from "../support/ports.ts";
import { Processes } from "../support/process.ts";
import { StopWaiting, waitFor } from "../support/wait.ts";
import { COREDNS_IMAGE, componentBuilt, corednsBinary } from "../conformance/paths.ts";
import { kubernetesBinariesAvailable, useCluster } from "./cluster.ts";
import { COREDNS_NAMESPACE, DEFAULT_DNS_CLUSTER_IP, corefile, corednsManifest } from "./coredns.ts";

describe("test cluster: CoreDNS as cluster DNS", function () {
  this.timeout(180_000);
  before(function () {
    if (!kubernetesBinariesAvailable() || !componentBuilt("coredns")) {
      console.warn("    the Kubernetes binaries or CoreDNS are not built; run `node test/setup/prepare.ts`: skipping");
      this.skip();
    }
  });
  const cluster = useCluster();
  const processes = new Processes();
  let dir: string | undefined;
  after(async () => {
    await processes.stopAll();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("answers a Service's name with its ClusterIP, reading the API as the coredns ServiceAccount", async () => {
    const c = cluster();
    const applied = await c.kubectl(["apply", "-f", "-"], { input: corednsManifest({ image: COREDNS_IMAGE }) });
    assert.equal(applied.code, 0, applied.stderr);

    const ns = await c.createNamespace("dns");
    const core = c.kubeConfig.makeApiClient(CoreV1Api);
    const web = await core.createNamespacedService({ namespace: ns, body: { metadata: { name: "web" }, spec: { ports: [{ port: 80 }] } } });
    const webIP = web.spec?.clusterIP;
    assert.ok(webIP);

    const [dns, health, ready] = await freePorts(3);
    assert.ok(dns !== undefined && health !== undefined && ready !== undefined);
    dir = mkdtempSync(join(tmpdir(), "weft-coredns-"));
    const conf = join(dir, "Corefile");
    writeFileSync(conf, corefile({ ports: { dns, health, ready }, kubeconfig: await c.kubeconfigFor(COREDNS_NAMESPACE, "coredns") }));
    const coredns = processes.start("coredns", corednsBinary(), ["-conf", conf]);
    await waitFor(
      "CoreDNS's /ready to answer 200 (the kubernetes plugin has synced)",
      async () => {
        if (!coredns.running) throw new StopWaiting(`coredns exited (${coredns.state}):\n${coredns.output}`);
        return (await fetch(`http://127.0.0.1:${ready}/ready`)).status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );

    const resolver = new Resolver({ timeout: 2_000, tries: 2 });
    resolver.setServers([`127.0.0.1:${dns}`]);
    assert.deepEqual(await resolver.resolve4(`web.${ns}.svc.cluster.local`), [webIP]);
    assert.deepEqual(await resolver.resolve4(`kube-dns.${COREDNS_NAMESPACE}.svc.cluster.local`), [DEFAULT_DNS_CLUSTER_IP]);
    await assert.rejects(resolver.resolve4(`nothing.${ns}.svc.cluster.local`), /ENOTFOUND/);
  });
});
