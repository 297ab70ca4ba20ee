// The dashboard's edges to the Kubernetes API, against a local HTTPS server standing in
// for the apiserver: `weft dashboard` says clearly when there is no dashboard to open,
// and the dashboard's tap turns the API's refusal into the CLI's message instead of
// printing it or stopping on Ctrl-C.
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { command as dashboardCommand } from "../../cli/src/cmd-dashboard.ts";
import { EXIT } from "../../cli/src/exit-codes.ts";
import { streamTap } from "../../dashboard/src/tap-relay.ts";
import { selfSignedCertificate } from "../cluster/self-signed.ts";

const CERT = selfSignedCertificate();

async function apiserver(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ kc: KubeConfig; kubeconfig: string; close(): void }> {
  const server = https.createServer({ key: CERT.key, cert: CERT.cert }, (req, res) => {
    req.resume();
    answer(req, res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), "weft-dashboard-kc-"));
  const kubeconfig = join(dir, "config");
  writeFileSync(kubeconfig, JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [{ name: "c", cluster: { server: url, "insecure-skip-tls-verify": true } }], users: [{ name: "u", user: { token: "t" } }], contexts: [{ name: "x", context: { cluster: "c", user: "u" } }], "current-context": "x" }));
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    kc,
    kubeconfig,
    close: () => {
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

describe("the dashboard's edges to the Kubernetes API", () => {
  const errors: string[] = [];
  const realError = console.error;
  beforeEach(() => {
    errors.length = 0;
    console.error = (...args: unknown[]) => void errors.push(args.join(" "));
  });
  afterEach(() => {
    console.error = realError;
  });

  it("weft dashboard exits 3 naming the chart value when no dashboard is installed, and says when none is Ready", async () => {
    let pods: unknown[] = [];
    let asked = "";
    const api = await apiserver((req, res) => {
      asked = req.url ?? "";
      json(res, 200, { kind: "PodList", apiVersion: "v1", metadata: {}, items: pods });
    });
    try {
      assert.equal(await dashboardCommand.run(["--no-browser", "--kubeconfig", api.kubeconfig]), EXIT.notFound);
      assert.match(asked, /^\/api\/v1\/namespaces\/weft-system\/pods\?labelSelector=app\.kubernetes\.io%2Fcomponent%3Ddashboard/);
      assert.match(errors.join("\n"), /^weft dashboard: no dashboard in weft-system: install the chart with dashboard\.enabled=true$/m);
      pods = [{ metadata: { name: "weft-dashboard-1" }, spec: { containers: [{ name: "dashboard" }] }, status: { phase: "Pending" } }];
      assert.equal(await dashboardCommand.run(["--no-browser", "-n", "mesh-ops", "--kubeconfig", api.kubeconfig]), EXIT.notFound);
      assert.match(errors.join("\n"), /the dashboard in mesh-ops is not ready yet \(1 pod\(s\), none Ready\)/);
      assert.equal(await dashboardCommand.run(["--port", "70000", "--kubeconfig", api.kubeconfig]), EXIT.usage);
    } finally {
      api.close();
    }
  });

  it("the dashboard's tap fails with the API's refusal as its message, printing nothing", async () => {
    const api = await apiserver((_req, res) => json(res, 403, { kind: "Status", message: "deployments.tap.weft.io \"web\" is forbidden: User \"system:serviceaccount:weft-system:weft-dashboard\" cannot watch" }));
    const sigint = process.listenerCount("SIGINT");
    try {
      await assert.rejects(streamTap(api.kc, { resource: "deploy/web", namespace: "shop" }, () => undefined, new AbortController().signal), /^Error: forbidden: deployments\.tap\.weft\.io "web" is forbidden: .*weft-dashboard.*needs watch on/);
      assert.deepEqual(errors, []);
      assert.equal(process.listenerCount("SIGINT"), sigint, "no Ctrl-C handler left behind by a server's tap");
    } finally {
      api.close();
    }
  });
});
