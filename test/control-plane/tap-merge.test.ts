// The tap component's fan-out against real proxies on loopback: events of a
// proxy that serves the tap arrive tagged with its pod; a pod whose proxy
// cannot be reached, or whose certificate is not the identity the pod's
// ServiceAccount names, is reported in the stream as a notice with the reason,
// and the stream ends once no proxy is left.
import { strict as assert } from "node:assert";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import type * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { systemClock } from "../../lib/clock.ts";
import { silentLogger } from "../../lib/log.ts";
import { parseTapLine, type TapEvent, type TapNotice } from "../../lib/tap-contract.ts";
import { mergeTapStreams, type TapPod, type TapSink } from "../../control-plane/src/tap-merge.ts";
import { MeshView } from "../../sidecar/src/discovery/mesh-view.ts";
import { ALPN_H1 } from "../../sidecar/src/identity/mesh-tls.ts";
import { startProxy, type RunningProxy } from "../../sidecar/src/proxy.ts";
import { issueTestLeaf, type TestLeaf } from "../fixtures/mesh-pki.ts";
import { holder, meshState, testPki } from "../sidecar/mesh-harness.ts";
import { waitFor } from "../support/wait.ts";

interface Collected extends TapSink {
  events: TapEvent[];
  notices: TapNotice[];
  ended: boolean;
  close(): void;
}

function collector(): Collected {
  const listeners: (() => void)[] = [];
  const c: Collected = {
    events: [],
    notices: [],
    ended: false,
    write(line) {
      const parsed = parseTapLine(line.trimEnd());
      if (parsed && "event" in parsed) c.events.push(parsed.event);
      else if (parsed) c.notices.push(parsed.notice);
    },
    end() {
      c.ended = true;
    },
    backlog: () => 0,
    onClose: (l) => listeners.push(l),
    close: () => listeners.forEach((l) => l()),
  };
  return c;
}

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A request over mTLS straight to a proxy's inbound listener, as a meshed caller makes it. */
function meshRequest(port: number, leaf: TestLeaf): Promise<void> {
  return new Promise((resolve) => {
    // https.RequestOptions lacks ALPNProtocols in its type; the TLS options are passed through at run time.
    const opts: https.RequestOptions & tls.ConnectionOptions = { host: "127.0.0.1", port, path: "/x", key: leaf.keyPem, cert: leaf.certChainPem, ca: leaf.anchorsPem, ALPNProtocols: [ALPN_H1], checkServerIdentity: () => undefined, agent: false };
    const req = https.request(opts, (res) => {
      res.resume();
      res.on("end", () => resolve());
    });
    req.on("error", () => resolve());
    req.end();
  });
}

describe("the tap component's merged stream", function () {
  this.timeout(20_000);
  let app: http.Server;
  let proxy: RunningProxy;
  let tapLeaf: TestLeaf;
  let clientLeaf: TestLeaf;
  let inbound = 0;
  let appPort = 0;

  before(async () => {
    const pki = await testPki();
    clientLeaf = pki.client;
    tapLeaf = await issueTestLeaf(pki.mesh, { namespace: "weft-system", serviceAccount: "weft-control-plane" });
    app = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => res.end("hello"));
    });
    await new Promise<void>((r) => app.listen(0, "127.0.0.1", r));
    appPort = (app.address() as AddressInfo).port;
    const view = new MeshView();
    view.update(meshState({}));
    proxy = await startProxy({ view, credentials: holder(pki.server), logger: silentLogger(), listenHost: "127.0.0.1", inboundApps: [{ listenPort: 0, appPort }], tap: { allowed: [tapLeaf.spiffeId] } });
    inbound = proxy.ports.get("inbound:0") ?? 0;
  });

  after(async () => {
    await proxy?.drain(1_000);
    app?.close();
  });

  const options = () => ({ tls: () => tapLeaf, trustDomain: "cluster.local", clock: systemClock, logger: silentLogger() });

  it("tags each event with the pod whose proxy saw it", async () => {
    const sink = collector();
    mergeTapStreams(options(), [{ namespace: "default", name: "server-1", ip: "127.0.0.1", port: inbound, serviceAccount: "server" }], { maxRps: 100, headers: [] }, sink);
    await waitFor("an event", async () => {
      await meshRequest(inbound, clientLeaf);
      return sink.events.length > 0;
    }, { timeoutMs: 5_000 });
    assert.equal(sink.events[0]?.pod, "default/server-1");
    assert.deepEqual(sink.notices, []);
    sink.close();
  });

  it("reports an unreachable proxy and a proxy with the wrong identity, then ends", async () => {
    const sink = collector();
    const pods: TapPod[] = [
      { namespace: "default", name: "gone", ip: "127.0.0.1", port: await deadPort(), serviceAccount: "server" },
      // The proxy presents default/server; this pod claims ServiceAccount "impostor".
      { namespace: "default", name: "impostor", ip: "127.0.0.1", port: inbound, serviceAccount: "impostor" },
    ];
    mergeTapStreams(options(), pods, { maxRps: 100, headers: [] }, sink);
    await waitFor("the stream to end", () => sink.ended, { timeoutMs: 15_000 });
    const byPod = new Map(sink.notices.map((n) => [n.pod, n]));
    assert.equal(byPod.get("default/gone")?.notice, "proxy-unreachable");
    assert.match(byPod.get("default/gone")?.message ?? "", /ECONNREFUSED/);
    assert.equal(byPod.get("default/impostor")?.notice, "proxy-unreachable");
    assert.match(byPod.get("default/impostor")?.message ?? "", /is not spiffe:\/\/cluster\.local\/ns\/default\/sa\/impostor/);
    assert.deepEqual(sink.events, []);
  });

  it("reports the proxy's own refusal", async () => {
    const pki = await testPki();
    const sink = collector();
    // The proxy allows only tapLeaf's identity; present the intruder's.
    mergeTapStreams({ ...options(), tls: () => pki.intruder }, [{ namespace: "default", name: "server-1", ip: "127.0.0.1", port: inbound, serviceAccount: "server" }], { maxRps: 100, headers: [] }, sink);
    await waitFor("the stream to end", () => sink.ended, { timeoutMs: 15_000 });
    assert.equal(sink.notices[0]?.notice, "proxy-refused");
    assert.match(sink.notices[0]?.message ?? "", /^forbidden: /);
  });

  it("without a certificate yet, says so and ends at once", () => {
    const sink = collector();
    mergeTapStreams({ ...options(), tls: () => undefined }, [{ namespace: "default", name: "server-1", ip: "127.0.0.1", port: inbound, serviceAccount: "server" }], { maxRps: 100, headers: [] }, sink);
    assert.equal(sink.notices[0]?.notice, "no-certificate");
    assert.equal(sink.ended, true);
  });
});
