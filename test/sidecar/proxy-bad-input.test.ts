import { strict as assert } from "node:assert";
import * as http from "node:http";
import * as net from "node:net";
import * as tls from "node:tls";
import { startHttpEcho, type EchoApp } from "../fixtures/apps/http-echo.ts";
import { createTestMesh, issueTestLeaf } from "../fixtures/mesh-pki.ts";
import { waitFor } from "../support/wait.ts";
import { startMesh, testPki, type Mesh } from "./mesh-harness.ts";

function rawExchange(port: number, payload: string | Buffer, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let got = "";
    socket.on("data", (c: Buffer) => (got += c.toString("latin1")));
    socket.on("close", () => resolve(got));
    socket.on("error", () => {});
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.write(payload);
  });
}

function get(port: number, path = "/"): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    }).on("error", reject);
  });
}

async function metric(registryText: Promise<string>, name: string): Promise<number> {
  let sum = 0;
  for (const line of (await registryText).split("\n")) if (line.startsWith(name)) sum += Number(line.split(" ").at(-1));
  return sum;
}

describe("bad input is answered or closed, counted, and harms nothing else", function () {
  this.timeout(60_000);
  let app: EchoApp;
  let mesh: Mesh;
  before(async () => {
    app = await startHttpEcho();
    mesh = await startMesh({ backends: [{ appPort: app.port }], headersTimeoutMs: 1_000 });
  });
  after(async () => {
    await mesh.stop();
    app.server.close();
  });

  it("answers malformed HTTP with 400 and oversized headers with 431", async () => {
    assert.match(await rawExchange(mesh.port, "GET / HTTP/1.1\r\nHost: x\r\nbad header line\r\n\r\n"), /^HTTP\/1.1 400/);
    assert.match(await rawExchange(mesh.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`), /^HTTP\/1.1 431/);
    assert.ok((await metric(mesh.client.metrics.registry.metrics(), "weft_proxy_input_errors_total")) >= 2);
    assert.equal(await get(mesh.port), 200);
  });

  it("cuts off a slowloris client that never finishes its headers, while others are served", async () => {
    const socket = net.connect(mesh.port, "127.0.0.1");
    socket.on("error", () => {});
    socket.write("GET / HTTP/1.1\r\nHost: x\r\n");
    const drip = setInterval(() => socket.writable && socket.write("X-A: b\r\n"), 200);
    const closed = new Promise<number>((resolve) => {
      const started = Date.now();
      socket.on("close", () => resolve(Date.now() - started));
    });
    assert.equal(await get(mesh.port), 200);
    const after = await closed;
    clearInterval(drip);
    assert.ok(after < 8_000, `closed after ${after} ms`);
  });

  it("refuses a TLS client whose certificate is not from the mesh, and counts it", async () => {
    const stranger = await issueTestLeaf(await createTestMesh(), { namespace: "default", serviceAccount: "stranger" });
    const pki = await testPki();
    const inbound = mesh.servers[0]?.ports.get("inbound:0") ?? 0;
    const err = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: "127.0.0.1", port: inbound, key: stranger.keyPem, cert: stranger.certChainPem, ca: pki.mesh.anchorPem, rejectUnauthorized: false, ALPNProtocols: ["h2"] });
      s.on("error", (e) => resolve(e.message));
      s.on("close", () => resolve("closed"));
      s.on("secureConnect", () => s.write("x"));
    });
    assert.ok(err.length > 0);
    await waitFor("the server proxy to count the failed handshake", async () => (await metric(mesh.servers[0]?.metrics.registry.metrics() ?? Promise.resolve(""), "weft_proxy_tls_handshake_failures_total")) >= 1);
    assert.equal(await get(mesh.port), 200);
  });

  it("refuses plaintext from outside the pod in strict mode", async () => {
    const inbound = mesh.servers[0]?.ports.get("inbound:0") ?? 0;
    assert.match(await rawExchange(inbound, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), /^HTTP\/1.1 403/);
    assert.equal(await rawExchange(inbound, "\x00\x01binary"), "");
  });

  it("answers 502 and counts a wrong-identity peer, when the peer presents another SPIFFE id", async () => {
    const pki = await testPki();
    const wrong = await startMesh({ backends: [{ appPort: app.port, leaf: pki.intruder }] });
    try {
      assert.equal(await get(wrong.port), 502);
      assert.ok((await metric(wrong.client.metrics.registry.metrics(), 'weft_proxy_tls_handshake_failures_total{direction="outbound",reason="wrong-identity"}')) >= 1);
    } finally {
      await wrong.stop();
    }
  });

  it("answers 502 when the destination resets", async () => {
    const resetter = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => resetter.listen(0, "127.0.0.1", r));
    const port = (resetter.address() as net.AddressInfo).port;
    const broken = await startMesh({ backends: [{ appPort: port }] });
    try {
      assert.equal(await get(broken.port), 502);
    } finally {
      await broken.stop();
      resetter.close();
    }
  });
});

describe("inbound permissive mode", function () {
  this.timeout(30_000);
  it("passes plaintext through to the app", async () => {
    const app = await startHttpEcho();
    const mesh = await startMesh({ backends: [{ appPort: app.port }], inboundMode: "PERMISSIVE" });
    try {
      const inbound = mesh.servers[0]?.ports.get("inbound:0") ?? 0;
      assert.equal(await get(inbound, "/plain"), 200);
    } finally {
      await mesh.stop();
      app.server.close();
    }
  });
});
