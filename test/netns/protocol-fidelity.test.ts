// Issue 16's cases with real capture: unmodified clients in a client pod reach
// unmodified apps in a server pod through both proxies, iptables and mTLS, as
// they would on a node (the loopback versions are in test/sidecar/proxy-*).
import assert from "node:assert/strict";
import { createTestMesh, issueTestLeaf, type TestLeaf, type TestMesh } from "../fixtures/mesh-pki.ts";
import { type Link, NetnsLab, NODE, skipWithoutNetns } from "./lab.ts";
import { PodFiles, agent, runClient, startApps, startMeshedProxy } from "./mesh-pods.ts";
import { APP_UID, ROOT } from "./mesh-pods.ts";

const SVC = "10.250.201.1";
const APP = { http1: 8090, echoOpaque: 7085, echoDetected: 7086, h2only: 8097, grpc: 8092 };
const RESPONSE_TIMEOUT_MS = 1000;

function snapshot(server: string, identity: string): unknown {
  return {
    version: "fidelity-1",
    full: true,
    services: [{
      namespace: "test", name: "fid", clusterIps: [SVC],
      ports: [
        { name: "http", port: 80, protocol: "TCP" },
        { name: "echo-opaque", port: 85, protocol: "TCP", appProtocol: "opaque" },
        { name: "echo", port: 86, protocol: "TCP" },
        { name: "h2only", port: 87, protocol: "TCP" },
        { name: "grpc", port: 88, protocol: "TCP", appProtocol: "grpc" },
      ],
      endpoints: [{
        address: server, ready: true, serving: true, meshed: true, identity, pod: "server", zone: "z",
        ports: { http: APP.http1, "echo-opaque": APP.echoOpaque, echo: APP.echoDetected, h2only: APP.h2only, grpc: APP.grpc },
      }],
    }],
    policy: {
      inbound: { mode: "STRICT" },
      // Short, so that a body streaming for 3 s outlives it: the response timeout ends at the response head.
      clientDefaults: { responseTimeoutMs: RESPONSE_TIMEOUT_MS, idleTimeoutMs: 60_000, totalTimeoutMs: 0, retry: { enabled: false } },
    },
  };
}

describe("protocol fidelity in network namespaces: half-close, Connection: close, translation, trailers, 100-continue, long bodies", function () {
  this.timeout(120_000);
  const lab = new NetnsLab();
  const files = new PodFiles();
  let client = "";
  let server = "";
  let link: Link;
  let mesh: TestMesh;
  let leaves: Record<string, TestLeaf> = {};
  const fidelity = (...args: string[]) => runClient<Record<string, unknown>>(lab, client, NODE, [agent("fidelity-client"), ...args]);

  before(async function () {
    skipWithoutNetns(this);
    client = lab.namespace("fcli");
    server = lab.namespace("fsrv");
    link = lab.link(client, server);
    lab.exec(client, "ip", ["route", "add", "10.250.201.0/24", "dev", link.aIf]);
    mesh = await createTestMesh();
    leaves = {
      client: await issueTestLeaf(mesh, { namespace: "test", serviceAccount: "client" }),
      server: await issueTestLeaf(mesh, { namespace: "test", serviceAccount: "server" }),
    };
    const snap = snapshot(link.bAddr, leaves.server!.spiffeId);
    const apps = lab.spawn(server, NODE, [agent("fidelity-apps"), "--http1", String(APP.http1), "--echo", String(APP.echoOpaque), "--echo", String(APP.echoDetected), "--h2only", String(APP.h2only)], { uid: APP_UID, cwd: ROOT });
    await apps.waitForOutput(/listening/);
    await startApps(lab, server, ["--name", "s", "--grpc", String(APP.grpc)]);
    await Promise.all([
      startMeshedProxy({ lab, ns: server, files, name: "server", mesh, leaf: leaves.server!, snapshot: snap, opaquePorts: String(APP.echoOpaque) }),
      startMeshedProxy({ lab, ns: client, files, name: "client", mesh, leaf: leaves.client!, snapshot: snap }),
    ]);
  });

  after(async () => {
    await lab.cleanup();
    files.remove();
  });

  it("answers an HTTP/1.0 request whose client shut down its write side right after sending it", () => {
    const r = fidelity("half-close", SVC, "80", "GET /x HTTP/1.0\\r\\nHost: fid\\r\\n\\r\\n");
    assert.equal(r.error, undefined, JSON.stringify(r));
    assert.match(String(r.text), /^HTTP\/1\.[01] 200 /);
    assert.match(String(r.text), /\{"bytes":0\}$/);
    assert.equal(r.ended, true);
  });

  it("answers an HTTP/1.1 request with a body whose client half-closed after the body", () => {
    const r = fidelity("half-close", SVC, "80", "POST /x HTTP/1.1\\r\\nHost: fid\\r\\nContent-Length: 5\\r\\n\\r\\nhello");
    assert.match(String(r.text), /^HTTP\/1\.1 200 /, JSON.stringify(r));
    assert.match(String(r.text), /\{"bytes":5\}/);
  });

  for (const [port, how] of [["85", "a declared opaque port"], ["86", "a port detected as opaque"]] as const) {
    it(`echoes all of 16 MiB sent before SHUT_WR on ${how}`, () => {
      const r = fidelity("echo", SVC, port, "16");
      assert.deepEqual(r, { received: 16 * 1024 * 1024, ended: true });
    });
  }

  it("passes the app's Connection: close to the client, and the connection closes after that response", () => {
    const r = fidelity("close", `http://${SVC}/close`);
    assert.deepEqual(r, { status: 200, connection: "close", body: "closing", socketClosed: true });
  });

  it("carries a chunked request's trailers to the HTTP/1.1 app", () => {
    const r = fidelity("trailers", `http://${SVC}/trailers`);
    assert.deepEqual(r, { status: 200, body: { bytes: 17, trailers: { "x-checksum": "c0ffee" } } });
  });

  it("lets the app decide on Expect: 100-continue: its 100 reaches the client, which then sends the body", () => {
    const r = fidelity("expect", `http://${SVC}/expect`, "accept");
    assert.deepEqual(r, { status: 200, continued: true, body: JSON.stringify({ bytes: 1024 * 1024 }) });
  });

  it("lets the app refuse an Expect: 100-continue request before any body moves", () => {
    const r = fidelity("expect", `http://${SVC}/expect`, "refuse");
    assert.deepEqual(r, { status: 417, continued: false, body: "refused before the body" });
  });

  it("gets an HTTP/1.1 app's answer when curl speaks HTTP/2 with prior knowledge", () => {
    const out = lab.exec(client, "curl", ["-sS", "--max-time", "15", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code} %{http_version}", `http://${SVC}/h2c`], { uid: APP_UID });
    assert.equal(out.trim(), "200 2");
  });

  it("gets an HTTP/2-only (h2c) app's answer when the client speaks HTTP/1.1, with its request trailers", () => {
    const r = fidelity("trailers", `http://${SVC}:87/trailers`);
    assert.deepEqual(r, { status: 200, body: { h2: true, bytes: 17, trailers: { "x-checksum": "c0ffee" } } });
  });

  it("keeps a gRPC stream whose messages come further apart than the response timeout", () => {
    const r = runClient<{ got: { text: string }[]; error?: string }>(lab, client, NODE, [agent("grpc-chat"), `${SVC}:88`, "4", String(RESPONSE_TIMEOUT_MS + 200)]);
    assert.equal(r.error, undefined, JSON.stringify(r));
    assert.deepEqual(r.got.map((n) => n.text), ["s:NOTE 0", "s:NOTE 1", "s:NOTE 2", "s:NOTE 3"]);
  });

  it("relays a body that streams for three times the response timeout, whole", () => {
    const chunks = 30;
    const out = lab.exec(client, "curl", ["-sS", "--max-time", "30", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", `http://${SVC}/stream?ms=${3 * RESPONSE_TIMEOUT_MS}&chunks=${chunks}`], { uid: APP_UID });
    assert.equal(out.trim(), `200 ${chunks * 64 * 1024}`);
  });
});
