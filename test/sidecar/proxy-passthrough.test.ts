import { strict as assert } from "node:assert";
import * as http from "node:http";
import { startHttpEcho, type EchoApp } from "../fixtures/apps/http-echo.ts";
import { silentLogger } from "../../lib/log.ts";
import { MeshView } from "../../sidecar/src/discovery/mesh-view.ts";
import { startProxy, type RunningProxy } from "../../sidecar/src/proxy.ts";
import { holder, meshState, testPki } from "./mesh-harness.ts";

function get(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: "/p", agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject);
  });
}

describe("unmeshed and unknown destinations", function () {
  this.timeout(30_000);
  let app: EchoApp;
  let proxy: RunningProxy;
  before(async () => {
    app = await startHttpEcho();
    const view = new MeshView();
    view.update(
      meshState({
        services: [
          {
            namespace: "legacy",
            name: "db",
            clusterIps: ["10.96.0.20"],
            ports: [{ name: "http", port: 80, protocol: "TCP" }],
            endpoints: [{ address: "127.0.0.1", ports: { http: app.port }, ready: true, serving: true, meshed: false }],
          },
        ],
      }),
    );
    proxy = await startProxy({
      view,
      credentials: holder((await testPki()).client),
      logger: silentLogger(),
      listenHost: "127.0.0.1",
      outboundBinds: [
        { listenPort: 0, address: "127.0.0.1", port: app.port },
      ],
    });
  });
  after(async () => {
    await proxy.drain(1_000);
    app.server.close();
  });

  it("passes a connection to an unmeshed endpoint through as plain TCP to the original address", async () => {
    const res = await get(proxy.ports.get("outbound:0") ?? 0);
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body) as { headers: Record<string, string> };
    assert.equal(seen.headers["weft-client-id"], undefined, "no mesh hop, so no client id");
    assert.equal((await proxy.metrics.registry.metrics()).includes('protocol="passthrough"'), true);
  });
});
