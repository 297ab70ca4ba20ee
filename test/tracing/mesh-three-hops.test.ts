// Real Weft proxies (local mode: fixed mappings on loopback, real mTLS between
// them), each with tracing behind its request-observer seam, exporting to a
// real Jaeger. The test client calls Service B through pod A's proxy; app B
// forwards the trace headers it received on its own call to Service C. Jaeger
// must hold one trace with every proxy's spans parented hop by hop.
import assert from "node:assert/strict";
import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { silentLogger } from "../../lib/log.ts";
import { createTracing, parseTracingConfig, type Tracing } from "../../lib/tracing.ts";
import { MeshView } from "../../sidecar/src/discovery/mesh-view.ts";
import { startProxy, type RunningProxy } from "../../sidecar/src/proxy.ts";
import { tracingObserver } from "../../sidecar/src/tracing/observer.ts";
import { issueTestLeaf, type TestLeaf } from "../fixtures/mesh-pki.ts";
import { holder, meshState, testPki } from "../sidecar/mesh-harness.ts";
import { parentOf, startJaeger, tag, type Jaeger, type JaegerSpan, type JaegerTrace } from "./jaeger.ts";

const TRACE_HEADERS = ["traceparent", "tracestate", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags"];

function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string; error: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, error: String(res.headers["weft-error"] ?? "") }));
    });
    req.on("error", reject);
    req.end();
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

function service(name: string, clusterIp: string, address: string, appPort: number, identity: string): unknown {
  return {
    namespace: "shop",
    name,
    clusterIps: [clusterIp],
    ports: [{ name: "http", port: 80, protocol: "TCP", appProtocol: "http" }],
    endpoints: [{ address, ports: { http: appPort }, zone: "", ready: true, serving: true, terminating: false, meshed: true, identity }],
    clientPolicy: { retry: { enabled: false } },
  };
}

describe("tracing: three meshed hops through real proxies", function () {
  this.timeout(120_000);
  let jaeger: Jaeger | undefined;
  const proxies: RunningProxy[] = [];
  const tracings: Tracing[] = [];
  const servers: Server[] = [];

  after(async () => {
    await Promise.all(proxies.map((p) => p.drain(2_000)));
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await Promise.all(tracings.map((t) => t.shutdown()));
    await jaeger?.stop();
  });

  it("one trace in Jaeger: pod A's proxy -> pod B's proxy -> app B -> pod B's proxy -> pod C's proxy -> app C", async () => {
    jaeger = await startJaeger();
    const pki = await testPki();
    const leaves: Record<string, TestLeaf> = {};
    for (const sa of ["a", "b", "c"]) leaves[sa] = await issueTestLeaf(pki.mesh, { namespace: "shop", serviceAccount: sa });
    const tracingFor = async (pod: string): Promise<Tracing> => {
      const parsed = parseTracingConfig({ endpoint: jaeger?.otlpGrpcEndpoint, samplingRatio: 1, scheduledDelayMillis: 100, serviceName: `mesh-${pod}`, namespace: "shop", podName: `${pod}-0` });
      if (!parsed.ok) throw new Error(parsed.message);
      const t = await createTracing(parsed.value, { scope: "weft-proxy", rootSampling: "caller" });
      tracings.push(t);
      return t;
    };

    // App C answers; app B calls Service C through its own proxy, forwarding the trace headers it got.
    let appCHeaders: IncomingHttpHeaders = {};
    const appC = createServer((req, res) => {
      appCHeaders = req.headers;
      res.end("c says hi\n");
    });
    servers.push(appC);
    const appCPort = await listen(appC);
    let proxyBOutbound = 0;
    const appB = createServer((req, res) => {
      const forward: Record<string, string> = {};
      for (const h of TRACE_HEADERS) if (typeof req.headers[h] === "string") forward[h] = req.headers[h];
      get(proxyBOutbound, "/c", forward).then(
        (r) => res.end(`b got: ${r.body}`),
        () => {
          res.statusCode = 502;
          res.end();
        },
      );
    });
    servers.push(appB);
    const appBPort = await listen(appB);

    // Pod C: inbound only.
    const viewC = new MeshView();
    viewC.update(meshState({}));
    const proxyC = await startProxy({
      view: viewC, credentials: holder(leaves["c"] as TestLeaf), logger: silentLogger(), listenHost: "127.0.0.1",
      inboundApps: [{ listenPort: 0, appPort: appCPort }], observer: tracingObserver(await tracingFor("c")),
    });
    proxies.push(proxyC);
    // Pod B: inbound for app B, outbound to Service C.
    const viewB = new MeshView(new Map([[`10.0.3.1:${appCPort}`, { host: "127.0.0.1", port: proxyC.ports.get("inbound:0") ?? 0 }]]));
    viewB.update(meshState({ services: [service("c", "10.96.0.3", "10.0.3.1", appCPort, (leaves["c"] as TestLeaf).spiffeId)] }));
    const proxyB = await startProxy({
      view: viewB, credentials: holder(leaves["b"] as TestLeaf), logger: silentLogger(), listenHost: "127.0.0.1",
      inboundApps: [{ listenPort: 0, appPort: appBPort }], outboundBinds: [{ listenPort: 0, address: "10.96.0.3", port: 80 }],
      observer: tracingObserver(await tracingFor("b")),
    });
    proxies.push(proxyB);
    proxyBOutbound = proxyB.ports.get("outbound:0") ?? 0;
    // Pod A: outbound to Service B (the test is app A).
    const viewA = new MeshView(new Map([[`10.0.2.1:${appBPort}`, { host: "127.0.0.1", port: proxyB.ports.get("inbound:0") ?? 0 }]]));
    viewA.update(meshState({ services: [service("b", "10.96.0.2", "10.0.2.1", appBPort, (leaves["b"] as TestLeaf).spiffeId)] }));
    const proxyA = await startProxy({
      view: viewA, credentials: holder(leaves["a"] as TestLeaf), logger: silentLogger(), listenHost: "127.0.0.1",
      outboundBinds: [{ listenPort: 0, address: "10.96.0.2", port: 80 }], observer: tracingObserver(await tracingFor("a")),
    });
    proxies.push(proxyA);

    const res = await get(proxyA.ports.get("outbound:0") ?? 0, "/b?q=1", {});
    assert.equal(res.status, 200, `${res.status} weft-error: ${res.error} body: ${res.body}`);
    assert.equal(res.body, "b got: c says hi\n");
    assert.ok(appCHeaders["traceparent"], "app C received trace context");
    const traceId = String(appCHeaders["traceparent"]).split("-")[1] ?? "";
    await Promise.all(tracings.map((t) => t.forceFlush()));

    const trace: JaegerTrace = await jaeger.waitForTrace(traceId, 8);
    const svc = (s: JaegerSpan) => trace.processes[s.processID]?.serviceName;
    const find = (pod: string, kind: string, direction: string): JaegerSpan => {
      const found = trace.spans.filter((s) => svc(s) === `mesh-${pod}` && tag(s, "span.kind") === kind && tag(s, "weft.direction") === direction);
      assert.equal(found.length, 1, `one ${kind} ${direction} span of pod ${pod}, got ${found.length}`);
      return found[0] as JaegerSpan;
    };
    assert.equal(trace.spans.length, 8, trace.spans.map((s) => `${svc(s)} ${tag(s, "span.kind")} ${tag(s, "weft.direction")}`).join("; "));
    const aOutServer = find("a", "server", "outbound");
    const aOutClient = find("a", "client", "outbound");
    const bInServer = find("b", "server", "inbound");
    const bInClient = find("b", "client", "inbound");
    const bOutServer = find("b", "server", "outbound");
    const bOutClient = find("b", "client", "outbound");
    const cInServer = find("c", "server", "inbound");
    const cInClient = find("c", "client", "inbound");

    assert.equal(parentOf(aOutServer), undefined, "the request had no context: pod A's proxy starts the trace");
    assert.equal(parentOf(aOutClient), aOutServer.spanID);
    assert.equal(parentOf(bInServer), aOutClient.spanID);
    assert.equal(parentOf(bInClient), bInServer.spanID);
    assert.equal(parentOf(bOutServer), bInClient.spanID, "app B forwarded the context its proxy gave it");
    assert.equal(parentOf(bOutClient), bOutServer.spanID);
    assert.equal(parentOf(cInServer), bOutClient.spanID);
    assert.equal(parentOf(cInClient), cInServer.spanID);

    assert.equal(tag(aOutServer, "http.request.method"), "GET");
    assert.equal(tag(aOutServer, "url.path"), "/b");
    assert.equal(tag(aOutServer, "http.response.status_code"), 200);
    assert.equal(tag(aOutClient, "weft.attempt"), 1);
    assert.equal(tag(aOutClient, "weft.service"), "shop/b");
    assert.equal(tag(bInServer, "weft.peer.identity"), (leaves["a"] as TestLeaf).spiffeId, "pod B's proxy names its mTLS caller");
    assert.equal(tag(cInServer, "weft.peer.identity"), (leaves["b"] as TestLeaf).spiffeId);
    assert.equal(tag(cInServer, "url.path"), "/c");
    // Body sizes come from the data plane on every hop: GETs send none; C's answer is relayed whole.
    for (const s of [aOutServer, aOutClient, bInServer, bInClient, bOutServer, bOutClient, cInServer, cInClient]) assert.equal(tag(s, "http.request.body.size"), 0);
    for (const s of [bOutServer, bOutClient, cInServer, cInClient]) assert.equal(tag(s, "http.response.body.size"), "c says hi\n".length);
    for (const s of [aOutServer, aOutClient, bInServer, bInClient]) assert.equal(tag(s, "http.response.body.size"), "b got: c says hi\n".length);
    for (const pod of ["a", "b", "c"]) {
      const p = Object.values(trace.processes).find((x) => x.serviceName === `mesh-${pod}`);
      assert.equal(p?.tags.find((t) => t.key === "k8s.pod.name")?.value, `${pod}-0`);
      assert.equal(p?.tags.find((t) => t.key === "k8s.namespace.name")?.value, "shop");
    }
  });
});
