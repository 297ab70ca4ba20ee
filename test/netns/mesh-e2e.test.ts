// The mesh end to end with real capture: unmodified clients in a "client pod"
// namespace talk to unmodified servers in two "server pod" namespaces through
// a Weft proxy in each pod, with iptables capture written by weft-proxy-init.
// tcpdump on the link between the pods proves that only TLS crossed it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createTestMesh, issueTestLeaf, type TestLeaf, type TestMesh } from "../fixtures/mesh-pki.ts";
import { type LabProcess, type Link, NetnsLab, NODE, skipWithoutNetns } from "./lab.ts";
import { PodFiles, agent, runClient, startApps, startMeshedProxy } from "./mesh-pods.ts";
import { waitFor } from "../support/wait.ts";
import { analyzeCapture, reassemble, tcpFlows, type FlowVerdict } from "./pcap.ts";

const SVC = { echo: "10.250.200.1", pair: "10.250.200.2", flaky: "10.250.200.3" };
const APP = { http1: 8080, h2: 8081, grpc: 8082, banner: 8083, pair: 9090, flaky: 9091, plain: 9999 };

function snapshot(s1: string, s2: string, id1: string, id2: string): unknown {
  const ep = (address: string, identity: string, ports: Record<string, number>, pod: string) => ({ address, ports, ready: true, serving: true, meshed: true, identity, pod, zone: "z" });
  return {
    version: "e2e-1",
    full: true,
    services: [
      {
        namespace: "test", name: "echo", clusterIps: [SVC.echo],
        ports: [
          { name: "http", port: 80, protocol: "TCP" },
          { name: "h2", port: 81, protocol: "TCP" },
          { name: "grpc", port: 82, protocol: "TCP", appProtocol: "grpc" },
          { name: "banner", port: 83, protocol: "TCP" },
        ],
        endpoints: [ep(s1, id1, { http: APP.http1, h2: APP.h2, grpc: APP.grpc, banner: APP.banner }, "server-1")],
      },
      {
        namespace: "test", name: "pair", clusterIps: [SVC.pair], ports: [{ name: "http", port: 80, protocol: "TCP" }],
        endpoints: [ep(s1, id1, { http: APP.pair }, "server-1"), ep(s2, id2, { http: APP.pair }, "server-2")],
      },
      {
        namespace: "test", name: "flaky", clusterIps: [SVC.flaky], ports: [{ name: "http", port: 80, protocol: "TCP" }],
        endpoints: [ep(s1, id1, { http: APP.flaky }, "server-1")],
      },
    ],
    policy: {
      inbound: { mode: "STRICT" },
      clientDefaults: {
        requestTimeoutMs: 10_000,
        retry: { enabled: true, maxRetries: 3, retryOnHttpStatus: [502, 503], budgetRatio: 1, budgetMinPerSecond: 100, backoffBaseMs: 5, backoffMaxMs: 50 },
      },
    },
  };
}

interface LoadReport {
  statuses: Record<string, number>;
  who: Record<string, number>;
  sequence: string[];
}

describe("the mesh in network namespaces: unmodified apps, real capture, only TLS between pods", function () {
  this.timeout(120_000);
  const lab = new NetnsLab();
  const files = new PodFiles();
  let client = "";
  let server1 = "";
  let server2 = "";
  let l1: Link;
  let l2: Link;
  let tcpdump: LabProcess | undefined;
  let pcapPath = "";
  let pairApp2: LabProcess | undefined;
  let mesh: TestMesh;
  let leaves: Record<string, TestLeaf> = {};

  before(async function () {
    skipWithoutNetns(this);
    client = lab.namespace("cli");
    server1 = lab.namespace("srv1");
    server2 = lab.namespace("srv2");
    l1 = lab.link(client, server1);
    l2 = lab.link(client, server2);
    // ClusterIPs need a route for connect() to start; capture redirects them before they leave.
    lab.exec(client, "ip", ["route", "add", "10.250.200.0/24", "dev", l1.aIf]);

    mesh = await createTestMesh();
    leaves = {
      client: await issueTestLeaf(mesh, { namespace: "test", serviceAccount: "client" }),
      server1: await issueTestLeaf(mesh, { namespace: "test", serviceAccount: "server" }),
      server2: await issueTestLeaf(mesh, { namespace: "test", serviceAccount: "server" }),
    };
    const snap = snapshot(l1.bAddr, l2.bAddr, leaves.server1!.spiffeId, leaves.server2!.spiffeId);

    pcapPath = `${files.dir}/link1.pcap`;
    // Immediate mode: otherwise packets wait in the kernel's ring for a block to fill and a stop loses them.
    tcpdump = lab.spawn(server1, "tcpdump", ["-i", l1.bIf, "--immediate-mode", "-U", "-s", "0", "-w", pcapPath, "tcp"]);
    await tcpdump.waitForOutput(/listening on/);

    await Promise.all([
      startApps(lab, server1, ["--name", "s1", "--http1", String(APP.http1), "--h2", String(APP.h2), "--grpc", String(APP.grpc), "--banner", String(APP.banner), "--flaky", String(APP.flaky), "--fail-ratio", "0.3"]),
      startApps(lab, server1, ["--name", "s1", "--flaky", String(APP.pair), "--fail-ratio", "0"]),
      startApps(lab, server1, ["--name", "plain", "--banner", String(APP.plain)]),
      startApps(lab, server2, ["--name", "s2", "--flaky", String(APP.pair), "--fail-ratio", "0"]).then((p) => { pairApp2 = p; }),
    ]);
    await Promise.all([
      startMeshedProxy({ lab, ns: server1, files, name: "server-1", mesh, leaf: leaves.server1!, snapshot: snap, excludeInboundPorts: String(APP.plain) }),
      startMeshedProxy({ lab, ns: server2, files, name: "server-2", mesh, leaf: leaves.server2!, snapshot: snap }),
      startMeshedProxy({ lab, ns: client, files, name: "client", mesh, leaf: leaves.client!, snapshot: snap }),
    ]);
  });

  after(async () => {
    await lab.cleanup();
    files.remove();
  });

  it("carries HTTP/1.1 from curl to the server, which sees the caller's identity", () => {
    const r = runClient<{ who: string; httpVersion: string; path: string; headers: Record<string, string> }>(lab, client, "curl", ["-sS", "--max-time", "15", `http://${SVC.echo}/hello?x=1`]);
    assert.equal(r.who, "s1");
    assert.equal(r.httpVersion, "1.1");
    assert.equal(r.path, "/hello?x=1");
    assert.equal(r.headers.host, SVC.echo);
    // The server pod's proxy verified the client's certificate and names its SPIFFE id.
    assert.equal(r.headers["weft-client-id"], leaves.client!.spiffeId);
  });

  it("carries HTTP/2 (prior knowledge) from curl to an h2c server", () => {
    const r = runClient<{ who: string; httpVersion: string; path: string }>(lab, client, "curl", ["-sS", "--max-time", "15", "--http2-prior-knowledge", `http://${SVC.echo}:81/h2`]);
    assert.equal(r.who, "s1");
    assert.equal(r.httpVersion, "2.0");
    assert.equal(r.path, "/h2");
  });

  it("carries a bidirectional gRPC stream between grpc-js client and server", () => {
    const r = runClient<{ got: { text: string; seq: number }[]; error?: string }>(lab, client, NODE, [agent("grpc-chat"), `${SVC.echo}:82`, "5"]);
    assert.equal(r.error, undefined);
    assert.deepEqual(r.got.map((n) => n.text), ["s1:NOTE 0", "s1:NOTE 1", "s1:NOTE 2", "s1:NOTE 3", "s1:NOTE 4"]);
  });

  it("carries a WebSocket conversation", () => {
    const r = runClient<{ got: string[]; error?: string }>(lab, client, NODE, [agent("ws-chat"), `ws://${SVC.echo}/chat`, "4"]);
    assert.equal(r.error, undefined);
    assert.deepEqual(r.got, ["s1:m0", "s1:m1", "s1:m2", "s1:m3"]);
  });

  it("carries a protocol where the server speaks first", () => {
    const r = runClient<{ transcript: string; error?: string }>(lab, client, NODE, [agent("banner-chat"), SVC.echo, "83"]);
    assert.equal(r.error, undefined);
    assert.equal(r.transcript, "220 s1 ready\r\n250 HELO mesh\r\n221 bye\r\n");
  });

  it("hides a backend that fails 30% of requests behind retries", () => {
    const r = runClient<LoadReport>(lab, client, NODE, [agent("http-load"), `http://${SVC.flaky}/`, "60"]);
    assert.deepEqual(r.statuses, { "200": 60 }, JSON.stringify(r));
  });

  it("let only TLS cross between the pods (and would have seen plaintext)", async () => {
    // Control: a connection to a port the server pod excludes from capture is not meshed and crosses in the clear.
    const plain = runClient<{ transcript: string }>(lab, client, NODE, [agent("banner-chat"), l1.bAddr, String(APP.plain)]);
    assert.match(plain.transcript, /220 plain ready.*221 bye/s);
    // tcpdump writes each packet as it reads it (-U): once the control's last reply is in
    // the file, every packet before it is too, and stopping loses nothing the test reads.
    const fromPlain = `${l1.bAddr}:${APP.plain} > `;
    await waitFor("tcpdump to have written the plaintext control's last reply", () =>
      [...tcpFlows(readFileSync(pcapPath))].some(([flow, f]) => flow.startsWith(fromPlain) && reassemble(f).includes("221 bye")));
    await tcpdump!.stop();
    const flows = analyzeCapture(pcapPath);
    const isControl = (f: FlowVerdict) => f.flow.includes(`${l1.bAddr}:${APP.plain}`);
    const control = flows.filter(isControl);
    const meshed = flows.filter((f) => !isControl(f));
    assert.ok(control.length > 0 && control.every((f) => !f.isTls), `the plaintext control was not seen as plaintext: ${JSON.stringify(control)}`);
    assert.ok(meshed.length >= 2, `expected meshed flows, saw ${JSON.stringify(flows)}`);
    const notTls = meshed.filter((f) => !f.isTls);
    assert.deepEqual(notTls, [], "every byte between the pods' proxies is a TLS record");
    assert.ok(meshed.some((f) => f.contentTypes.includes(23)), "application data went by as TLS records");
  });

  it("ejects an endpoint that stops answering, and sends it traffic again once it is back", async () => {
    const before = runClient<LoadReport>(lab, client, NODE, [agent("http-load"), `http://${SVC.pair}/`, "40"]);
    assert.ok((before.who.s1 ?? 0) > 0 && (before.who.s2 ?? 0) > 0, `both endpoints serve at first: ${JSON.stringify(before.who)}`);

    await pairApp2!.stop();
    const during = runClient<LoadReport>(lab, client, NODE, [agent("http-load"), `http://${SVC.pair}/`, "60"]);
    assert.ok((during.statuses["200"] ?? 0) >= 54, `retries and ejection keep requests succeeding: ${JSON.stringify(during.statuses)}`);
    assert.deepEqual(new Set(during.sequence.slice(-20)), new Set(["s1"]), "the dead endpoint is ejected");

    pairApp2 = await startApps(lab, server2, ["--name", "s2", "--flaky", String(APP.pair), "--fail-ratio", "0"]);
    await waitFor("the endpoint to take traffic again after its ejection ends", () => {
      const r = runClient<LoadReport>(lab, client, NODE, [agent("http-load"), `http://${SVC.pair}/`, "20", "100"]);
      return (r.who.s2 ?? 0) > 0;
    }, { timeoutMs: 60_000, intervalMs: 0 });
  });
});
