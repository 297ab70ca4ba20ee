import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api } from "@kubernetes/client-node";
import { startNode } from "../support/process.ts";
import { kubernetesBinariesAvailable, startCluster } from "./cluster.ts";
import { pidsMentioning } from "./node-host.ts";

const here = dirname(fileURLToPath(import.meta.url));

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

describe("test cluster: lifecycle", function () {
  this.timeout(180000);
  before(function () {
    if (!kubernetesBinariesAvailable()) this.skip();
  });

  it("starts to a ready apiserver in seconds, survives an apiserver restart on the same port, and stops without leftovers", async () => {
    const started = Date.now();
    const cluster = await startCluster();
    const startMs = Date.now() - started;
    const dir = dirname(cluster.kubeconfigPath);
    const port = Number(new URL(cluster.server).port);
    try {
      console.log(`      control plane ready in ${startMs} ms`);
      const ns = await cluster.createNamespace("life");
      const version = await cluster.kubectl(["version", "-o", "json"]);
      assert.equal(version.code, 0, version.stderr);
      assert.match(version.stdout, /"gitVersion": "v1\.34\./);

      await cluster.stopApiserver();
      assert.equal(await portIsFree(port), true, "the apiserver's port is released");
      await cluster.startApiserver();
      const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
      const again = await core.readNamespace({ name: ns });
      assert.equal(again.metadata?.name, ns, "etcd kept the namespace across the restart");
      assert.equal(cluster.server, `https://127.0.0.1:${port}`);
    } finally {
      await cluster.stop();
    }
    assert.deepEqual(pidsMentioning(dir), [], "no process of the cluster is left");
    assert.equal(existsSync(dir), false, "its folder is removed");
    assert.equal(await portIsFree(port), true, "its port is free");
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`tears the cluster down when the owning process gets ${signal}`, async () => {
      const child = startNode("hold-cluster", [join(here, "fixtures", "hold-cluster.ts")]);
      try {
        // Its one line on stdout once the cluster is ready: "ready <dir> <server>".
        const [, dir] = await child.waitForOutput(/^ready (\S+) \S+\n/m, { timeoutMs: 120_000 });
        assert.ok(dir !== undefined && existsSync(dir), child.output);
        assert.notDeepEqual(pidsMentioning(dir), []);
        child.signal(signal);
        await child.exited;
        assert.deepEqual(pidsMentioning(dir), [], "no process of the cluster is left");
        assert.equal(existsSync(dir), false, "its folder is removed");
      } finally {
        child.kill();
      }
    });
  }
});
