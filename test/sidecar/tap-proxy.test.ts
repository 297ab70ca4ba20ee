// Tap through real proxies on loopback: a tap client presenting the tap
// component's identity gets one JSON line per request (inbound on the server's
// proxy, outbound on the client's), with only the header it named; a client
// with any other mesh identity is refused before it can ask for anything.
import { strict as assert } from "node:assert";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import { silentLogger } from "../../lib/log.ts";
import { ALPN_TAP, type TapEvent } from "../../lib/tap-contract.ts";
import { MeshView } from "../../sidecar/src/discovery/mesh-view.ts";
import { startProxy, type RunningProxy } from "../../sidecar/src/proxy.ts";
import { issueTestLeaf, type TestLeaf } from "../fixtures/mesh-pki.ts";
import { CLUSTER_IP, SERVICE_PORT, holder, meshState, testPki } from "./mesh-harness.ts";
import { waitFor } from "../support/wait.ts";

interface TapStream {
  events: TapEvent[];
  lines: unknown[];
  closed: Promise<void>;
  close(): void;
}

function tap(port: number, leaf: TestLeaf, request: object): Promise<TapStream> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ALPNProtocols: [ALPN_TAP], key: leaf.keyPem, cert: leaf.certChainPem, ca: leaf.anchorsPem, checkServerIdentity: () => undefined });
    const stream: TapStream = { events: [], lines: [], closed: new Promise((r) => socket.once("close", () => r())), close: () => socket.destroy() };
    let buf = "";
    socket.on("data", (chunk: Buffer) => {
      buf += chunk.toString();
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line: unknown = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        stream.lines.push(line);
        if (typeof line === "object" && line !== null && "direction" in line) stream.events.push(line as TapEvent);
      }
    });
    socket.once("error", reject);
    socket.once("secureConnect", () => {
      socket.write(`${JSON.stringify(request)}\n`);
      resolve(stream);
    });
  });
}

describe("tap through real proxies", function () {
  this.timeout(20_000);
  let app: http.Server;
  let server: RunningProxy;
  let client: RunningProxy;
  let tapLeaf: TestLeaf;
  let clientPort = 0;
  let serverInbound = 0;

  before(async () => {
    const pki = await testPki();
    tapLeaf = await issueTestLeaf(pki.mesh, { namespace: "weft-system", serviceAccount: "weft-control-plane" });
    app = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => res.end("hello"));
    });
    await new Promise<void>((r) => app.listen(0, "127.0.0.1", r));
    const appPort = (app.address() as AddressInfo).port;
    const serverView = new MeshView();
    serverView.update(meshState({}));
    server = await startProxy({ view: serverView, credentials: holder(pki.server), logger: silentLogger(), listenHost: "127.0.0.1", inboundApps: [{ listenPort: 0, appPort }], tap: { allowed: [tapLeaf.spiffeId] } });
    serverInbound = server.ports.get("inbound:0") ?? 0;
    const dial = new Map([[`10.0.0.1:${appPort}`, { host: "127.0.0.1", port: serverInbound }]]);
    const clientView = new MeshView(dial);
    clientView.update(meshState({ services: [{ namespace: "default", name: "echo", clusterIps: [CLUSTER_IP], ports: [{ name: "http", port: SERVICE_PORT, protocol: "TCP", appProtocol: "" }], endpoints: [{ address: "10.0.0.1", ports: { http: appPort }, zone: "", ready: true, serving: true, terminating: false, meshed: true, identity: pki.server.spiffeId }] }] }));
    client = await startProxy({ view: clientView, credentials: holder(pki.client), logger: silentLogger(), listenHost: "127.0.0.1", outboundBinds: [{ listenPort: 0, address: CLUSTER_IP, port: SERVICE_PORT }], inboundApps: [{ listenPort: 0, appPort }], tap: { allowed: [tapLeaf.spiffeId] } });
    clientPort = client.ports.get("outbound:0") ?? 0;
  });

  after(async () => {
    await Promise.all([client?.drain(1_000), server?.drain(1_000)]);
    app?.close();
  });

  function send(path: string, headers: Record<string, string> = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      const r = http.request({ host: "127.0.0.1", port: clientPort, path, method: "POST", headers: { host: "echo.default:80", ...headers } }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      r.on("error", reject);
      r.end("abc");
    });
  }

  it("the tap component's identity receives an event per request, inbound and outbound", async () => {
    const pki = await testPki();
    const inbound = await tap(serverInbound, tapLeaf, { maxRps: 100, headers: ["x-trace"], pathPrefix: "/items" });
    const outbound = await tap(client.ports.get("inbound:0") ?? 0, tapLeaf, { maxRps: 100, to: { services: ["default/echo"] } });
    // The subscription is made when the request line arrives; wait until a request is seen.
    await waitFor("a tapped request", async () => {
      const status = await send("/items/1?token=s3cret", { "x-trace": "t-1", authorization: "Bearer secret" });
      assert.equal(status, 200);
      return inbound.events.length > 0 && outbound.events.length > 0;
    }, { timeoutMs: 5_000 });
    await send("/other");
    const e = inbound.events[0];
    assert.ok(e);
    assert.equal(e.direction, "inbound");
    assert.equal(e.source, pki.client.spiffeId);
    assert.equal(e.destination, pki.server.spiffeId);
    assert.equal(e.method, "POST");
    assert.equal(e.path, "/items/1");
    assert.equal(e.status, 200);
    assert.equal(e.tls, true);
    assert.deepEqual(e.headers, { "x-trace": "t-1" });
    assert.ok(e.latencyMs >= 0);
    assert.ok(inbound.events.every((ev) => ev.path.startsWith("/items")), "the path filter holds");
    const o = outbound.events[0];
    assert.ok(o);
    assert.equal(o.direction, "outbound");
    assert.equal(o.source, pki.client.spiffeId);
    assert.equal(o.destination, pki.server.spiffeId);
    assert.equal(o.service, "default/echo");
    assert.equal(o.headers, undefined);
    inbound.close();
    outbound.close();
  });

  it("any other identity is refused", async () => {
    const pki = await testPki();
    const stream = await tap(serverInbound, pki.intruder, { maxRps: 100 });
    await stream.closed;
    assert.deepEqual(stream.events, []);
    assert.equal((stream.lines[0] as { error?: string }).error, "forbidden");
  });
});
