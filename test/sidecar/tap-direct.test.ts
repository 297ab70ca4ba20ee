// Tap on a capturing proxy: the tap component dials the inbound port itself,
// which the inbound capture leaves alone, so the connection reaches the
// listener without a redirect (no original destination). The proxy serves tap
// on such a connection and nothing else: a mesh peer's ordinary TLS and
// plaintext are closed, since there is no app port to forward them to.
import { strict as assert } from "node:assert";
import * as net from "node:net";
import * as tls from "node:tls";
import { silentLogger } from "../../lib/log.ts";
import { fail } from "../../lib/result.ts";
import { ALPN_TAP } from "../../lib/tap-contract.ts";
import { MeshView } from "../../sidecar/src/discovery/mesh-view.ts";
import { startProxy, type RunningProxy } from "../../sidecar/src/proxy.ts";
import { issueTestLeaf, type TestLeaf } from "../fixtures/mesh-pki.ts";
import { holder, meshState, testPki } from "./mesh-harness.ts";

/** Connects with `alpn` as `leaf`, writes `line`; what came back, and whether the proxy closed within `ms`. */
function dial(port: number, leaf: TestLeaf, alpn: string, line: string, ms: number): Promise<{ closed: boolean; got: string }> {
  return new Promise((resolve) => {
    let got = "";
    const socket = tls.connect({ host: "127.0.0.1", port, ALPNProtocols: [alpn], key: leaf.keyPem, cert: leaf.certChainPem, ca: leaf.anchorsPem, checkServerIdentity: () => undefined });
    socket.on("data", (d: Buffer) => (got += d.toString()));
    socket.on("error", () => {});
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, got });
    }, ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve({ closed: true, got });
    });
    socket.once("secureConnect", () => socket.write(line));
  });
}

describe("tap on a capturing proxy: connections dialled at the inbound port itself", function () {
  this.timeout(20_000);
  let proxy: RunningProxy;
  let port = 0;
  let tapLeaf: TestLeaf;
  let pki: Awaited<ReturnType<typeof testPki>>;

  before(async () => {
    pki = await testPki();
    tapLeaf = await issueTestLeaf(pki.mesh, { namespace: "weft-system", serviceAccount: "weft-control-plane" });
    const view = new MeshView();
    view.update(meshState({}));
    proxy = await startProxy({
      view, credentials: holder(pki.server), logger: silentLogger(), listenHost: "127.0.0.1", inboundPort: 0,
      // What SO_ORIGINAL_DST says of a connection that was not redirected.
      originalDestination: () => fail("not-redirected", "the connection reached the listener directly"),
      tap: { allowed: [tapLeaf.spiffeId] },
    });
    port = proxy.ports.get("inbound") ?? 0;
  });
  after(() => proxy?.drain(1_000));

  it("serves the tap component's identity", async () => {
    const r = await dial(port, tapLeaf, ALPN_TAP, `${JSON.stringify({ maxRps: 10 })}\n`, 500);
    assert.deepEqual(r, { closed: false, got: "" }, "subscribed and waiting for requests");
  });

  it("refuses another identity's tap, a mesh peer's HTTP, and plaintext", async () => {
    const intruder = await dial(port, pki.intruder, ALPN_TAP, `${JSON.stringify({ maxRps: 10 })}\n`, 2_000);
    assert.equal(intruder.closed, true);
    assert.match(intruder.got, /"forbidden"/);
    const peer = await dial(port, pki.client, "http/1.1", "GET / HTTP/1.1\r\nhost: x\r\n\r\n", 2_000);
    assert.deepEqual(peer, { closed: true, got: "" });
    const plain = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => s.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
      s.on("error", () => {});
      const t = setTimeout(() => resolve(false), 2_000);
      s.once("close", () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    assert.equal(plain, true, "plaintext closed");
  });
});
