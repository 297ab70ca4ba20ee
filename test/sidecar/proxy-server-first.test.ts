import { strict as assert } from "node:assert";
import * as net from "node:net";
import type { Counter } from "prom-client";
import { BANNER, startBanner } from "../fixtures/apps/banner.ts";
import { startHttpEcho } from "../fixtures/apps/http-echo.ts";
import { waitFor } from "../support/wait.ts";
import { startMesh, testPki, type Mesh } from "./mesh-harness.ts";

// Large, so that "waited out detection" and "did not" differ by seconds, not by scheduling noise.
const DETECT_MS = 2_000;

async function count(counter: Counter<"direction">, direction: string): Promise<number> {
  return (await counter.get()).values.find((v) => v.labels.direction === direction)?.value ?? 0;
}

/** Milliseconds from connecting through the client proxy to receiving `expected`; the socket stays open. */
async function timeTo(port: number, expected: string): Promise<{ ms: number; socket: net.Socket; received: () => string }> {
  const socket = net.connect(port, "127.0.0.1");
  let received = "";
  socket.on("data", (c: Buffer) => (received += c.toString()));
  const started = performance.now();
  await waitFor(`"${expected.trim()}" through the mesh`, () => received.includes(expected), { intervalMs: 10, timeoutMs: 15_000 });
  return { ms: performance.now() - started, socket, received: () => received };
}

describe("server-speaks-first destinations on undeclared ports", function () {
  this.timeout(30_000);
  let mesh: Mesh | undefined;
  const stops: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    mesh = undefined;
  });

  it("waits out detection on the first connection only, then sends the banner at once", async () => {
    const app = await startBanner();
    mesh = await startMesh({ backends: [{ appPort: app.port }], detectTimeoutMs: DETECT_MS });
    const m = mesh;
    stops.push(() => void app.server.close(), () => m.stop());

    const first = await timeTo(m.port, BANNER);
    first.socket.destroy();
    assert.ok(first.ms >= DETECT_MS, `first banner after ${Math.round(first.ms)} ms, before the ${DETECT_MS} ms window`);
    assert.equal(await count(m.client.metrics.serverFirstLearned, "outbound"), 1);

    const second = await timeTo(m.port, BANNER);
    assert.ok(second.ms < 1_000, `second banner after ${Math.round(second.ms)} ms`);
    second.socket.write("hello\r\n");
    await waitFor("the app's echo of the client's line", () => second.received().includes("echo: hello"), { intervalMs: 10 });
    second.socket.destroy();
    assert.equal(await count(m.client.metrics.detectionSkipped, "outbound"), 1);
    const server = m.servers[0];
    assert.ok(server);
    assert.equal(await count(server.metrics.detectionSkipped, "inbound"), 1);
  });

  it("forgets a destination whose client turns out to speak HTTP, and detects it again", async () => {
    const app = await startHttpEcho();
    mesh = await startMesh({ backends: [{ appPort: app.port }], detectTimeoutMs: DETECT_MS });
    const m = mesh;
    stops.push(() => void app.server.close(), () => m.stop());
    const request = "GET /again HTTP/1.1\r\nhost: echo\r\nweft-client-id: spiffe://cluster.local/ns/default/sa/forged\r\nconnection: close\r\n\r\n";
    const server = m.servers[0];
    assert.ok(server);

    // A client that stays silent past the window teaches both proxies "server-first".
    const silent = net.connect(m.port, "127.0.0.1");
    let silentReceived = "";
    silent.on("data", (c: Buffer) => (silentReceived += c.toString()));
    await waitFor("the server proxy to learn the app port", async () => (await count(server.metrics.serverFirstLearned, "inbound")) === 1, { timeoutMs: 15_000 });
    assert.equal(await count(m.client.metrics.serverFirstLearned, "outbound"), 1);
    silent.write(request);
    await waitFor("the response on the silent connection", () => silentReceived.includes("HTTP/1.1 200"), { timeoutMs: 15_000 });
    silent.destroy();

    // HTTP on a connection taken without detection still works, is still parsed where it reaches the app
    // (the forged identity is replaced by the verified one), and forgets the destination on both sides.
    const skipped = await exchange(m.port, request);
    assert.ok(skipped.includes("HTTP/1.1 200") && skipped.includes('"/again"'), skipped);
    assert.ok(skipped.includes((await testPki()).client.spiffeId) && !skipped.includes("forged"), skipped);
    assert.equal(await count(m.client.metrics.detectionSkipped, "outbound"), 1);
    assert.equal(await count(server.metrics.detectionSkipped, "inbound"), 1);

    // So the next connection is detected as HTTP, not taken as opaque.
    const detected = await exchange(m.port, request);
    assert.ok(detected.includes("HTTP/1.1 200"), detected);
    assert.equal(await count(m.client.metrics.detectionSkipped, "outbound"), 1);
    assert.equal(await count(server.metrics.detectionSkipped, "inbound"), 1);
    const http1 = (await m.client.metrics.tcpConnections.get()).values.find((v) => v.labels.direction === "outbound" && v.labels.protocol === "http1")?.value;
    assert.equal(http1, 1);
  });
});

/** Sends one HTTP/1.1 request (connection: close) through the client proxy and returns everything answered. */
async function exchange(port: number, request: string): Promise<string> {
  const socket = net.connect(port, "127.0.0.1");
  let received = "";
  socket.on("data", (c: Buffer) => (received += c.toString()));
  socket.write(request);
  await new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return received;
}
