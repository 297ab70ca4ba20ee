// The caller's identity an app sees cannot be forged: whatever way a request
// reaches the server proxy (framed HTTP/1.1, an Upgrade, a method detection
// does not list, a leading empty line, CONNECT, an opaque connection opened
// straight to the inbound port), the only weft-client-id the app gets is the
// one the proxy derived from the peer's certificate, and a plaintext caller's
// requests get none at all.
import assert from "node:assert/strict";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import { startMesh, testPki, type Mesh } from "./mesh-harness.ts";
import { issueTestLeaf, type TestLeaf } from "../fixtures/mesh-pki.ts";
import { waitFor } from "../support/wait.ts";
import { classifyAtTimeout, detectProtocol } from "../../sidecar/src/http/protocol-detect.ts";
import { parseRequestHead } from "../../sidecar/src/http1/framer.ts";
import { isRelayableUpgrade, upgradeHead } from "../../sidecar/src/inbound/upgrade.ts";
import { peerRefusal } from "../../sidecar/src/inbound/listener.ts";
import { requestHead } from "../../sidecar/src/http1/request-head.ts";
import { h2RequestHeaders } from "../../sidecar/src/http/headers.ts";
import type { ProxyRequest } from "../../sidecar/src/http/request.ts";
import { PassThrough } from "node:stream";

const FORGED = "spiffe://cluster.local/ns/default/sa/admin";

interface Seen {
  method: string;
  url: string;
  clientId: string | undefined;
}

/**
 * An app that records the weft-client-id of every request (and Upgrade, and
 * CONNECT) it gets. As a CONNECT proxy it answers 200 and echoes what is
 * tunnelled, or refuses with `connectStatus` and leaves closing to the caller.
 */
async function recordingApp(options: { acceptUpgrade?: boolean; connectStatus?: number } = {}): Promise<{ port: number; seen: Seen[]; tunnelled: Buffer[]; close: () => void }> {
  const seen: Seen[] = [];
  const tunnelled: Buffer[] = [];
  const record = (req: http.IncomingMessage): void => {
    const id = req.headers["weft-client-id"];
    seen.push({ method: req.method ?? "", url: req.url ?? "", clientId: Array.isArray(id) ? id.join(",") : id });
  };
  const server = http.createServer((req, res) => {
    record(req);
    req.resume();
    req.on("end", () => res.end("ok"));
  });
  server.on("connect", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    record(req);
    socket.on("error", () => {});
    if (options.connectStatus !== undefined) {
      socket.write(`HTTP/1.1 ${options.connectStatus} Refused\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    const echo = (d: Buffer): void => {
      tunnelled.push(d);
      socket.write(d);
    };
    if (head.length > 0) echo(head);
    socket.on("data", echo);
  });
  if (options.acceptUpgrade) {
    server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket) => {
      record(req);
      socket.write("HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n");
      socket.on("data", (d: Buffer) => {
        tunnelled.push(d);
        socket.write(d);
      });
    });
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, seen, tunnelled, close: () => server.close() };
}

/** A raw connection that collects everything it reads. */
function rawClient(socket: net.Socket): { socket: net.Socket; received: () => string; closed: () => boolean } {
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on("data", (d: Buffer) => chunks.push(d));
  socket.on("error", () => {});
  socket.on("close", () => (closed = true));
  return { socket, received: () => Buffer.concat(chunks).toString("latin1"), closed: () => closed };
}

function connectTo(port: number): Promise<ReturnType<typeof rawClient>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => resolve(rawClient(socket)));
    socket.once("error", reject);
  });
}

/** A mesh workload talking to the server proxy's inbound port itself, with its own certificate and ALPN. */
function meshConnect(port: number, leaf: TestLeaf, alpn: string): Promise<ReturnType<typeof rawClient>> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, key: leaf.keyPem, cert: leaf.certChainPem, ca: leaf.anchorsPem, ALPNProtocols: [alpn], checkServerIdentity: () => undefined }, () => resolve(rawClient(socket)));
    socket.once("error", reject);
  });
}

const responses = (text: string): number => text.split("HTTP/1.1 ").length - 1;

describe("the caller identity an app sees cannot be forged", function () {
  this.timeout(20_000);
  const stops: (() => unknown)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function meshFor(app: { port: number; close: () => void }, options: { opaquePorts?: number[]; inboundMode?: "STRICT" | "PERMISSIVE" } = {}): Promise<Mesh> {
    const mesh = await startMesh({ backends: [{ appPort: app.port }], ...options });
    stops.push(app.close, () => mesh.stop());
    return mesh;
  }

  it("replaces a weft-client-id the caller wrote on a plain request", async () => {
    const app = await recordingApp();
    const mesh = await meshFor(app);
    const c = await connectTo(mesh.port);
    c.socket.write(`GET /plain HTTP/1.1\r\nhost: echo\r\nWeft-Client-Id: ${FORGED}\r\n\r\n`);
    await waitFor("a response", () => responses(c.received()) === 1);
    c.socket.destroy();
    assert.deepEqual(app.seen.map((s) => s.clientId), [(await testPki()).client.spiffeId]);
  });

  it("rewrites the head of an Upgrade request and leaves the tunnelled bytes alone", async () => {
    const app = await recordingApp({ acceptUpgrade: true });
    const mesh = await meshFor(app);
    const c = await connectTo(mesh.port);
    c.socket.write(`GET /ws HTTP/1.1\r\nhost: echo\r\nconnection: upgrade\r\nupgrade: echo\r\nweft-client-id: ${FORGED}\r\n\r\n`);
    await waitFor("the 101", () => c.received().startsWith("HTTP/1.1 101"));
    const inTunnel = `weft-client-id: ${FORGED}\r\n`;
    c.socket.write(inTunnel);
    await waitFor("the echo", () => c.received().endsWith(inTunnel));
    c.socket.destroy();
    assert.deepEqual(app.seen.map((s) => s.clientId), [(await testPki()).client.spiffeId]);
    assert.equal(Buffer.concat(app.tunnelled).toString("latin1"), inTunnel);
  });

  it("ends the connection when the app declines an Upgrade, so a request after it is never passed on unread", async () => {
    const app = await recordingApp();
    const mesh = await meshFor(app);
    const c = await connectTo(mesh.port);
    c.socket.write(`GET /first HTTP/1.1\r\nhost: echo\r\nconnection: upgrade\r\nupgrade: echo\r\nweft-client-id: ${FORGED}\r\n\r\n`);
    await waitFor("the app's answer", () => responses(c.received()) === 1);
    c.socket.write(`GET /second HTTP/1.1\r\nhost: echo\r\nweft-client-id: ${FORGED}\r\n\r\n`);
    await waitFor("the connection to close", () => c.closed());
    assert.deepEqual(app.seen.map((s) => [s.url, s.clientId]), [["/first", (await testPki()).client.spiffeId]]);
  });

  it("parses a request with a method detection does not list (PROPFIND)", async () => {
    const app = await recordingApp();
    const mesh = await meshFor(app);
    const c = await connectTo(mesh.port);
    c.socket.write(`PROPFIND /dav HTTP/1.1\r\nhost: echo\r\ndepth: 1\r\nweft-client-id: ${FORGED}\r\ncontent-length: 0\r\n\r\n`);
    await waitFor("a response", () => responses(c.received()) === 1);
    c.socket.destroy();
    assert.deepEqual(app.seen.map((s) => [s.method, s.clientId]), [["PROPFIND", (await testPki()).client.spiffeId]]);
  });

  it("parses a request that starts with an empty line", async () => {
    const app = await recordingApp();
    const mesh = await meshFor(app);
    const c = await connectTo(mesh.port);
    c.socket.write(`\r\nGET /crlf HTTP/1.1\r\nhost: echo\r\nweft-client-id: ${FORGED}\r\n\r\n`);
    await waitFor("a response", () => responses(c.received()) === 1);
    c.socket.destroy();
    assert.deepEqual(app.seen.map((s) => [s.url, s.clientId]), [["/crlf", (await testPki()).client.spiffeId]]);
  });

  it("tunnels CONNECT to an app that is a forward proxy, the CONNECT carrying the verified id", async () => {
    const app = await recordingApp();
    const mesh = await meshFor(app);
    const c = await connectTo(mesh.port);
    c.socket.write(`CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\nweft-client-id: ${FORGED}\r\n\r\n`);
    await waitFor("the 200", () => c.received().startsWith("HTTP/1.1 200"));
    const inTunnel = `GET / HTTP/1.1\r\nweft-client-id: ${FORGED}\r\n\r\n`;
    c.socket.write(inTunnel);
    await waitFor("the echo", () => c.received().endsWith(inTunnel));
    c.socket.destroy();
    assert.deepEqual(app.seen.map((s) => [s.method, s.url, s.clientId]), [["CONNECT", "example.com:443", (await testPki()).client.spiffeId]]);
    // The tunnelled bytes are the app's: not parsed, not rewritten.
    assert.equal(Buffer.concat(app.tunnelled).toString("latin1"), inTunnel);
  });

  it("relays the app's refusal of a CONNECT and closes the connection", async () => {
    const app = await recordingApp({ connectStatus: 403 });
    const mesh = await meshFor(app);
    const c = await connectTo(mesh.port);
    c.socket.write(`CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n`);
    await waitFor("the 403", () => c.received().startsWith("HTTP/1.1 403"));
    c.socket.write(`GET /after HTTP/1.1\r\nhost: echo\r\nweft-client-id: ${FORGED}\r\n\r\n`);
    await waitFor("the connection to close", () => c.closed());
    assert.equal(responses(c.received()), 1);
    assert.deepEqual(app.seen.map((s) => [s.method, s.clientId]), [["CONNECT", (await testPki()).client.spiffeId]]);
  });

  it("serves HTTP sent on an opaque connection straight to the inbound port as HTTP, every request rewritten", async () => {
    const app = await recordingApp();
    const mesh = await meshFor(app);
    const pki = await testPki();
    const inbound = mesh.servers[0]?.ports.get("inbound:0") ?? 0;
    const c = await meshConnect(inbound, pki.client, "weft.opaque/1");
    c.socket.write(`GET /one HTTP/1.1\r\nhost: echo\r\nweft-client-id: ${FORGED}\r\n\r\nGET /two HTTP/1.1\r\nhost: echo\r\nWEFT-CLIENT-ID: ${FORGED}\r\n\r\n`);
    await waitFor("two responses", () => responses(c.received()) === 2);
    c.socket.destroy();
    assert.deepEqual(app.seen.map((s) => [s.url, s.clientId]), [["/one", pki.client.spiffeId], ["/two", pki.client.spiffeId]]);
  });

  for (const alpn of ["weft.opaque/1", "weft.h1/1"]) {
    it(`rewrites a CONNECT sent straight to the inbound port before tunnelling it (${alpn})`, async () => {
      const app = await recordingApp();
      const mesh = await meshFor(app);
      const pki = await testPki();
      const c = await meshConnect(mesh.servers[0]?.ports.get("inbound:0") ?? 0, pki.client, alpn);
      c.socket.write(`CONNECT 10.0.0.1:80 HTTP/1.1\r\nhost: 10.0.0.1:80\r\nweft-client-id: ${FORGED}\r\n\r\n`);
      await waitFor("the 200", () => c.received().startsWith("HTTP/1.1 200"));
      c.socket.write("ping");
      await waitFor("the echo", () => c.received().endsWith("ping"));
      c.socket.destroy();
      assert.deepEqual(app.seen.map((s) => [s.method, s.clientId]), [["CONNECT", pki.client.spiffeId]]);
    });
  }

  it("parses HTTP on a configured opaque port too", async () => {
    const app = await recordingApp();
    const mesh = await meshFor(app, { opaquePorts: [80] });
    const c = await connectTo(mesh.port);
    c.socket.write(`GET /opaque HTTP/1.1\r\nhost: echo\r\nweft-client-id: ${FORGED}\r\n\r\n`);
    await waitFor("a response", () => responses(c.received()) === 1);
    c.socket.destroy();
    assert.deepEqual(app.seen.map((s) => s.clientId), [(await testPki()).client.spiffeId]);
  });

  it("refuses a peer whose certificate names another trust domain", async () => {
    const app = await recordingApp();
    const mesh = await meshFor(app);
    const pki = await testPki();
    // Signed by this mesh's own issuer, so only the trust-domain check can refuse it.
    const foreign = await issueTestLeaf({ ...pki.mesh, trustDomain: "other.example" }, { namespace: "default", serviceAccount: "client" });
    const server = mesh.servers[0];
    assert.ok(server);
    const c = await meshConnect(server.ports.get("inbound:0") ?? 0, foreign, "weft.h1/1");
    c.socket.write(`GET /foreign HTTP/1.1\r\nhost: echo\r\n\r\n`);
    await waitFor("the connection to close", () => c.closed());
    const failures = await server.metrics.tlsHandshakeFailures.get();
    assert.ok(failures.values.some((v) => v.labels.reason === "foreign-trust-domain" && v.labels.direction === "inbound" && v.value === 1), JSON.stringify(failures.values));
    assert.deepEqual(app.seen, []);
  });
});

/** An h2c app that records the weft-client-id of every stream it gets. */
async function h2cApp(): Promise<{ port: number; seen: (string | undefined)[]; close: () => void }> {
  const seen: (string | undefined)[] = [];
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    const id = headers["weft-client-id"];
    seen.push(Array.isArray(id) ? id.join(",") : id);
    stream.respond({ ":status": 200 });
    stream.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, seen, close: () => server.close() };
}

describe("a plaintext caller in permissive mode gets no identity header", function () {
  this.timeout(20_000);
  const stops: (() => unknown)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  /** A plain TCP connection straight to the server proxy's inbound port, as a caller outside the mesh makes. */
  async function plaintextTo(app: { port: number; close: () => void }): Promise<ReturnType<typeof rawClient>> {
    const mesh = await startMesh({ backends: [{ appPort: app.port }], inboundMode: "PERMISSIVE" });
    stops.push(app.close, () => mesh.stop());
    return connectTo(mesh.servers[0]?.ports.get("inbound:0") ?? 0);
  }

  const requests: [string, string][] = [
    ["a plain request, with weft-proto too", `GET /plain HTTP/1.1\r\nhost: echo\r\nWeft-Client-Id: ${FORGED}\r\nweft-proto: h2\r\n\r\n`],
    ["a request after an empty line", `\r\nGET /crlf HTTP/1.1\r\nhost: echo\r\nweft-client-id: ${FORGED}\r\n\r\n`],
    ["a method detection does not list", `PROPFIND /dav HTTP/1.1\r\nhost: echo\r\nWEFT-CLIENT-ID: ${FORGED}\r\ncontent-length: 0\r\n\r\n`],
    ["an HTTP/1.0 request", `GET /old HTTP/1.0\r\nweft-client-id: ${FORGED}\r\n\r\n`],
    ["a request expecting 100-continue", `POST /expect HTTP/1.1\r\nhost: echo\r\nexpect: 100-continue\r\nweft-client-id: ${FORGED}\r\ncontent-length: 2\r\n\r\nhi`],
  ];
  for (const [what, wire] of requests) {
    it(`strips a forged weft-client-id from ${what} and adds none`, async () => {
      const app = await recordingApp();
      const c = await plaintextTo(app);
      c.socket.write(wire);
      await waitFor("the app's answer", () => /HTTP\/1\.[01] 200/.test(c.received()) && c.received().endsWith("ok"));
      c.socket.destroy();
      assert.equal(app.seen.length, 1);
      assert.equal(app.seen[0]?.clientId, undefined);
    });
  }

  it("strips a forged weft-client-id from an Upgrade and leaves the tunnelled bytes alone", async () => {
    const app = await recordingApp({ acceptUpgrade: true });
    const c = await plaintextTo(app);
    c.socket.write(`GET /ws HTTP/1.1\r\nhost: echo\r\nconnection: upgrade\r\nupgrade: echo\r\nweft-client-id: ${FORGED}\r\n\r\n`);
    await waitFor("the 101", () => c.received().startsWith("HTTP/1.1 101"));
    const inTunnel = `weft-client-id: ${FORGED}\r\n`;
    c.socket.write(inTunnel);
    await waitFor("the echo", () => c.received().endsWith(inTunnel));
    c.socket.destroy();
    assert.deepEqual(app.seen.map((s) => [s.url, s.clientId]), [["/ws", undefined]]);
    assert.equal(Buffer.concat(app.tunnelled).toString("latin1"), inTunnel);
  });

  it("takes an h2c upgrade offer out, so no HTTP/2 stream reaches the app unparsed", async () => {
    const app = await recordingApp({ acceptUpgrade: true });
    const c = await plaintextTo(app);
    c.socket.write(`GET /h2c HTTP/1.1\r\nhost: echo\r\nconnection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\nhttp2-settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nweft-client-id: ${FORGED}\r\n\r\n`);
    await waitFor("the connection to close", () => c.closed());
    assert.match(c.received(), /^HTTP\/1\.1 200 /);
    assert.deepEqual(app.seen.map((s) => [s.url, s.clientId]), [["/h2c", undefined]]);
    assert.deepEqual(app.tunnelled, []);
  });

  it("strips a forged weft-client-id from a CONNECT and then tunnels", async () => {
    const app = await recordingApp();
    const c = await plaintextTo(app);
    c.socket.write(`CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\nweft-client-id: ${FORGED}\r\n\r\n`);
    await waitFor("the 200", () => c.received().startsWith("HTTP/1.1 200"));
    c.socket.write("ping");
    await waitFor("the echo", () => c.received().endsWith("ping"));
    c.socket.destroy();
    assert.deepEqual(app.seen.map((s) => [s.method, s.clientId]), [["CONNECT", undefined]]);
  });

  it("strips a forged weft-client-id from h2c (prior knowledge) and adds none", async () => {
    const app = await h2cApp();
    const mesh = await startMesh({ backends: [{ appPort: app.port }], inboundMode: "PERMISSIVE" });
    stops.push(app.close, () => mesh.stop());
    const session = http2.connect(`http://127.0.0.1:${mesh.servers[0]?.ports.get("inbound:0") ?? 0}`);
    session.on("error", () => {});
    stops.push(() => session.close());
    const stream = session.request({ ":path": "/h2c", "weft-client-id": FORGED });
    const status = await new Promise<number>((resolve, reject) => {
      stream.on("response", (h) => resolve(Number(h[":status"])));
      stream.on("error", reject);
    });
    stream.resume();
    assert.equal(status, 200);
    assert.deepEqual(app.seen, [undefined]);
  });

  it("passes bytes that are not HTTP through untouched", async () => {
    const got: Buffer[] = [];
    const server = net.createServer((s) => s.on("data", (d: Buffer) => {
      got.push(d);
      s.write(d);
    }));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const c = await plaintextTo({ port: (server.address() as net.AddressInfo).port, close: () => server.close() });
    const bytes = `SSH-2.0-x\r\nweft-client-id: ${FORGED}\r\n`;
    c.socket.write(bytes);
    await waitFor("the echo", () => c.received() === bytes);
    c.socket.destroy();
    assert.equal(Buffer.concat(got).toString("latin1"), bytes);
  });
});

describe("the pure parts of keeping weft-client-id the proxy's", () => {
  const detected = (text: string): string => {
    const d = detectProtocol(Buffer.from(text, "latin1"));
    return d.kind === "done" ? d.protocol : d.kind;
  };

  it("detects any request line as HTTP/1.x, whatever the method and after empty lines", () => {
    assert.equal(detected("PROPFIND /dav HTTP/1.1\r\n"), "http1");
    assert.equal(detected("CONNECT example:443 HTTP/1.1\r\n"), "http1");
    assert.equal(detected("M-SEARCH * HTTP/1.1\r\n"), "http1");
    assert.equal(detected("\r\n\r\nGET / HTTP/1.1\r\n"), "http1");
    assert.equal(detected("\r\nGET /"), "need-more");
  });

  it("leaves lines that are not HTTP request lines opaque", () => {
    assert.equal(detected("get key\r\n"), "opaque");
    assert.equal(detected("SSH-2.0-x\r\n"), "opaque");
    assert.equal(detected("SET k v\r\n"), "opaque");
    assert.equal(detected("OPTIONS rtsp://x RTSP/1.0\r\n"), "opaque");
    assert.equal(detected(`${"A".repeat(40)} / HTTP/1.1`), "opaque");
  });

  it("treats a request line cut off by the timeout as HTTP, so pausing mid-line cannot skip the parser", () => {
    assert.equal(classifyAtTimeout(undefined), "opaque");
    assert.equal(classifyAtTimeout(Buffer.from("GET")), "http1");
    assert.equal(classifyAtTimeout(Buffer.from("\r\n")), "http1");
    assert.equal(classifyAtTimeout(Buffer.from("PRI * HTTP/2")), "h2");
    assert.equal(classifyAtTimeout(Buffer.from([0x16, 0x03])), "opaque");
  });

  it("rewrites an Upgrade head without the caller's weft-* fields or an h2c offer, with the proxy's identity", () => {
    const parsed = parseRequestHead(Buffer.from(`GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nWeft-Client-Id: ${FORGED}\r\nweft-proto: h2\r\n\r\n`), 16_384);
    assert.equal(parsed.kind, "head");
    if (parsed.kind !== "head") return;
    assert.ok(isRelayableUpgrade(parsed.head));
    assert.equal(upgradeHead(parsed.head, "spiffe://cluster.local/ns/a/sa/b").toString("latin1"), "GET /ws HTTP/1.1\r\nhost: a\r\nconnection: Upgrade\r\nupgrade: websocket\r\nweft-client-id: spiffe://cluster.local/ns/a/sa/b\r\n\r\n");
    const h2c = parseRequestHead(Buffer.from("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: H2C, websocket\r\nHTTP2-Settings: AAA\r\n\r\n"), 16_384);
    assert.equal(h2c.kind, "head");
    if (h2c.kind !== "head") return;
    assert.equal(upgradeHead(h2c.head, undefined).toString("latin1"), "GET / HTTP/1.1\r\nhost: a\r\nconnection: Upgrade, HTTP2-Settings\r\nupgrade: websocket\r\n\r\n");
  });

  it("writes no identity field when there is none to add, and still strips the caller's weft-* fields", () => {
    const req: ProxyRequest = { method: "GET", authority: "a", path: "/", fields: ["weft-client-id", FORGED, "x-a", "1"], fieldsChecked: true, hasBody: false, body: new PassThrough(), mayHaveTrailers: false, trailers: undefined };
    assert.equal(requestHead(req, { fields: req.fields, checked: true }, false), "GET / HTTP/1.1\r\nhost: a\r\nx-a: 1\r\n\r\n");
    assert.deepEqual(h2RequestHeaders(req, { fields: req.fields, checked: true }), [":method", "GET", ":path", "/", ":scheme", "http", ":authority", "a", "x-a", "1"]);
    const parsed = parseRequestHead(Buffer.from(`CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nWeft-Client-Id: ${FORGED}\r\n\r\n`), 16_384);
    assert.equal(parsed.kind, "head");
    if (parsed.kind !== "head") return;
    assert.equal(upgradeHead(parsed.head, undefined).toString("latin1"), "CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\n\r\n");
  });

  it("relays only HTTP/1.1 upgrades and CONNECTs without a body", () => {
    const relayable = (text: string): boolean => {
      const parsed = parseRequestHead(Buffer.from(text), 16_384);
      return parsed.kind === "head" && isRelayableUpgrade(parsed.head);
    };
    assert.equal(relayable("GET / HTTP/1.1\r\nhost: a\r\nconnection: upgrade\r\nupgrade: x\r\n\r\n"), true);
    assert.equal(relayable("POST / HTTP/1.1\r\nhost: a\r\nconnection: upgrade\r\nupgrade: h2c\r\ncontent-length: 3\r\n\r\n"), false);
    assert.equal(relayable("GET / HTTP/1.1\r\nhost: a\r\nconnection: upgrade\r\n\r\n"), false);
    assert.equal(relayable("GET / HTTP/1.1\r\nhost: a\r\nexpect: 100-continue\r\n\r\n"), false);
    assert.equal(relayable("CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\n\r\n"), true);
    assert.equal(relayable("CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\ncontent-length: 3\r\n\r\n"), false);
  });

  it("refuses peers without a SPIFFE id, from another trust domain, or not allowed", () => {
    const san = (id: string): string => `URI:${id}`;
    const ours = "spiffe://cluster.local/ns/default/sa/client";
    assert.deepEqual(peerRefusal(san(ours), "cluster.local", []), { ok: true, identity: ours });
    assert.deepEqual(peerRefusal(san("spiffe://other.example/ns/default/sa/client"), "cluster.local", []), { ok: false, reason: "foreign-trust-domain" });
    assert.deepEqual(peerRefusal(san(ours), undefined, []), { ok: false, reason: "foreign-trust-domain" });
    assert.deepEqual(peerRefusal(undefined, "cluster.local", []), { ok: false, reason: "no-spiffe-id" });
    assert.deepEqual(peerRefusal(san(ours), "cluster.local", ["spiffe://cluster.local/ns/default/sa/other"]), { ok: false, reason: "identity-not-allowed" });
  });
});
