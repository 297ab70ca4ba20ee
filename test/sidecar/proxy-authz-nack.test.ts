// A snapshot whose Authorization cannot be enforced is NACKed with the compile
// error, and the proxy keeps enforcing its last good set: a real discovery
// stream (a scripted server over mTLS) feeds a real proxy, wired the way
// control-plane-mode.ts wires it.
import { strict as assert } from "node:assert";
import * as http from "node:http";
import type * as net from "node:net";
import type { Snapshot } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import { silentLogger } from "../../lib/log.ts";
import { validateInboundAuthorization } from "../../sidecar/src/authz/compile.ts";
import { DiscoveryClient } from "../../sidecar/src/discovery/client.ts";
import { MeshView } from "../../sidecar/src/discovery/mesh-view.ts";
import { startProxy } from "../../sidecar/src/proxy.ts";
import { waitFor } from "../support/wait.ts";
import { holder, testPki } from "./mesh-harness.ts";
import { scriptedDiscovery } from "./scripted-discovery.ts";

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    }).on("error", reject);
  });
}

describe("authorization snapshots from the discovery stream", function () {
  this.timeout(30_000);

  it("NACKs an Authorization that does not compile, with the reason, and keeps enforcing the last good set", async () => {
    const pki = await testPki();
    const app = http.createServer((_req, res) => res.end("ok"));
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    const appPort = (app.address() as net.AddressInfo).port;
    // The good set admits plaintext callers on every port (so a plain GET can probe it) and refuses one path.
    const good = {
      defaultPolicy: "DEFAULT_ALL_UNAUTHENTICATED",
      policies: [{ name: "default/no-admin", action: "DENY", rules: [{ from: [{ unauthenticated: true }], to: [{ paths: [{ exact: "/admin" }] }] }] }],
    };
    // An action the proxy cannot enforce: the wire's zero value.
    const bad = { defaultPolicy: "DEFAULT_ALL_UNAUTHENTICATED", policies: [{ name: "default/broken", action: "AUTHORIZATION_ACTION_UNSPECIFIED", rules: [{}] }] };
    const discovery = await scriptedDiscovery([
      { version: "e.1", full: true, policy: { inbound: { mode: "STRICT", authorization: good } } } as Snapshot,
      { version: "e.2", full: false, baseVersion: "e.1", policy: { inbound: { mode: "STRICT", authorization: bad } } } as Snapshot,
    ]);
    const view = new MeshView();
    const client = new DiscoveryClient({
      address: `127.0.0.1:${discovery.port}`,
      tls: { keyPem: pki.client.keyPem, certChainPem: pki.client.certChainPem, anchorsPem: pki.client.anchorsPem },
      logger: silentLogger(),
      validate: (state) => validateInboundAuthorization(state.policy.inbound),
    });
    client.on("update", (state) => view.update(state));
    const proxy = await startProxy({ view, credentials: holder(pki.server), logger: silentLogger(), listenHost: "127.0.0.1", inboundApps: [{ listenPort: 0, appPort }] });
    const port = proxy.ports.get("inbound:0") ?? 0;
    try {
      const nacked = new Promise<string>((resolve) => client.once("nack", (reason) => resolve(reason)));
      client.start();
      const reason = await nacked;
      await waitFor("both answers at the server", () => discovery.answers.length >= 2);
      assert.equal(discovery.answers[0]?.ack?.version, "e.1");
      assert.equal(discovery.answers[1]?.nack?.version, "e.2");
      assert.match(discovery.answers[1]?.nack?.reason ?? "", /default\/broken/, "the NACK names what did not compile");
      assert.match(reason, /default\/broken/);
      assert.equal(client.state?.version, "e.1");
      assert.equal(await get(port, "/public"), 200);
      assert.equal(await get(port, "/admin"), 403, "the last good set is still enforced");
    } finally {
      client.stop();
      discovery.stop();
      await proxy.drain(1_000);
      app.close();
    }
  });
});
