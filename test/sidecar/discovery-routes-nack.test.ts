// A snapshot whose routes the proxy cannot follow is NACKed with the reason,
// and the proxy keeps the last good routes: a real discovery stream (a
// scripted server over mTLS) feeds a real discovery client, validated by the
// hook control-plane-mode.ts wires.
import { strict as assert } from "node:assert";
import type { Snapshot } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import { silentLogger } from "../../lib/log.ts";
import { validateMeshState } from "../../sidecar/src/control-plane-mode.ts";
import { DiscoveryClient } from "../../sidecar/src/discovery/client.ts";
import { waitFor } from "../support/wait.ts";
import { testPki } from "./mesh-harness.ts";
import { scriptedDiscovery } from "./scripted-discovery.ts";

const routes = (path: Record<string, unknown>) => ({
  service: "default/echo",
  rules: [{ route: "default/r", kind: "HTTPRoute", backends: [{ service: "default/v1", weight: 1 }] }],
  matches: [{ rule: 0, path }],
});

describe("routes from the discovery stream", function () {
  this.timeout(30_000);

  it("NACKs routes whose regex does not compile, with the reason, and keeps the last good routes", async () => {
    const pki = await testPki();
    const discovery = await scriptedDiscovery([
      { version: "e.1", full: true, policy: { inbound: { mode: "STRICT" } }, routes: [routes({ type: "REGEX", value: "/items/[0-9]+" })] } as Snapshot,
      { version: "e.2", full: false, baseVersion: "e.1", routes: [routes({ type: "REGEX", value: "/items/([0-9]+" })] } as Snapshot,
      { version: "e.3", full: false, baseVersion: "e.1", removedRoutes: ["default/echo"] } as Snapshot,
    ]);
    const client = new DiscoveryClient({
      address: `127.0.0.1:${discovery.port}`,
      tls: { keyPem: pki.client.keyPem, certChainPem: pki.client.certChainPem, anchorsPem: pki.client.anchorsPem },
      logger: silentLogger(),
      validate: validateMeshState,
    });
    try {
      const nacked = new Promise<string>((resolve) => client.once("nack", (reason) => resolve(reason)));
      client.start();
      const reason = await nacked;
      assert.match(reason, /default\/echo.*does not compile/);
      await waitFor("three answers at the server", () => discovery.answers.length >= 3);
      assert.equal(discovery.answers[0]?.ack?.version, "e.1");
      assert.equal(discovery.answers[1]?.nack?.version, "e.2");
      assert.match(discovery.answers[1]?.nack?.reason ?? "", /does not compile/);
      // The delta after the NACK applies to the last good state.
      assert.equal(discovery.answers[2]?.ack?.version, "e.3");
      assert.equal(client.state?.routes.size, 0);
    } finally {
      client.stop();
      discovery.stop();
    }
  });
});
