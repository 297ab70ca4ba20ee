import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as net from "node:net";
import { promisify } from "node:util";
import { startHttpEcho, type EchoApp } from "../fixtures/apps/http-echo.ts";
import { startH2Echo } from "../fixtures/apps/h2-echo.ts";
import { answerProtocol, probeAppProtocol, type AppProtocol } from "../../sidecar/src/inbound/app-protocol-probe.ts";
import { startMesh, testPki, type Mesh } from "./mesh-harness.ts";

const run = promisify(execFile);

describe("any client protocol reaches any app protocol", function () {
  this.timeout(30_000);
  const stops: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  describe("an HTTP/2 client and an HTTP/1.1-only app", () => {
    let app: EchoApp;
    let mesh: Mesh;
    before(async () => {
      app = await startHttpEcho();
      mesh = await startMesh({ backends: [{ appPort: app.port }] });
      stops.push(() => void app.server.close(), () => mesh.stop());
    });

    it("gets the app's answer when curl speaks HTTP/2 with prior knowledge", async () => {
      const { stdout } = await run("curl", ["-sS", "--http2-prior-knowledge", "-w", "\n%{http_code} %{http_version}", "--data-binary", "hello", `http://127.0.0.1:${mesh.port}/from-h2`]);
      const [body, status] = stdout.split("\n");
      assert.equal(status, "200 2");
      const echoed = JSON.parse(body as string) as { method: string; url: string; bodyBytes: number; headers: Record<string, string> };
      assert.equal(echoed.method, "POST");
      assert.equal(echoed.url, "/from-h2");
      assert.equal(echoed.bodyBytes, 5);
      assert.equal(echoed.headers["weft-client-id"], (await testPki()).client.spiffeId);
    });

    it("gets every answer when nghttp sends several streams at once", async () => {
      const base = `http://127.0.0.1:${mesh.port}`;
      const { stdout } = await run("nghttp", ["-n", "-v", `${base}/status/201`, `${base}/status/202`, `${base}/status/203`]);
      const statuses = [...stdout.matchAll(/recv \(stream_id=\d+\) :status: (\d+)/g)].map((m) => m[1]).sort();
      assert.deepEqual(statuses, ["201", "202", "203"]);
    });
  });

  it("gets an HTTP/2-only (h2c) app's answer when curl speaks HTTP/1.1", async () => {
    const app = await startH2Echo();
    const mesh = await startMesh({ backends: [{ appPort: app.port }] });
    stops.push(() => void app.server.close(), () => mesh.stop());
    for (const path of ["/first", "/second"]) {
      const { stdout } = await run("curl", ["-sS", "--http1.1", "-w", "\n%{http_code} %{http_version}", "--data-binary", "hello", `http://127.0.0.1:${mesh.port}${path}`]);
      const [body, status] = stdout.split("\n");
      assert.equal(status, "200 1.1");
      const echoed = JSON.parse(body as string) as { path: string; method: string; bodyBytes: number; clientId: string | null };
      assert.deepEqual(echoed, { path, method: "POST", bodyBytes: 5, clientId: (await testPki()).client.spiffeId });
    }
  });

  it("still speaks HTTP/2 to an app that speaks only HTTP/2", async () => {
    const app = await startH2Echo();
    const mesh = await startMesh({ backends: [{ appPort: app.port }] });
    stops.push(() => void app.server.close(), () => mesh.stop());
    const { stdout } = await run("curl", ["-sS", "--http2-prior-knowledge", "-w", "\n%{http_code}", `http://127.0.0.1:${mesh.port}/h2-app`]);
    const [body, status] = stdout.split("\n");
    assert.equal(status, "200");
    assert.equal((JSON.parse(body as string) as { path: string }).path, "/h2-app");
  });

  describe("what an app's answer to the HTTP/2 preface says it speaks", () => {
    it("a SETTINGS frame is HTTP/2", () => {
      assert.equal(answerProtocol(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])), "h2");
    });
    it("a status line is HTTP/1.1", () => {
      assert.equal(answerProtocol(Buffer.from("HTTP/1.1 400 Bad Request\r\n")), "h1");
    });
    it("another frame first is not HTTP/2", () => {
      assert.equal(answerProtocol(Buffer.from([0, 0, 8, 7, 0, 0, 0, 0, 0])), "h1");
    });
    it("too few bytes tell nothing yet", () => {
      assert.equal(answerProtocol(Buffer.from([0, 0, 0, 4])), undefined);
    });

    const probe = (port: number): Promise<AppProtocol | undefined> => new Promise((resolve) => probeAppProtocol("127.0.0.1", port, 5_000, resolve));
    it("a node:http app is probed as HTTP/1.1 and a node:http2 app as HTTP/2", async () => {
      const h1 = await startHttpEcho();
      const h2 = await startH2Echo();
      stops.push(() => void h1.server.close(), () => void h2.server.close());
      assert.equal(await probe(h1.port), "h1");
      assert.equal(await probe(h2.port), "h2");
    });
    it("a port nobody listens on tells nothing, so it is asked again later", async () => {
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const port = (server.address() as net.AddressInfo).port;
      await new Promise((resolve) => server.close(resolve));
      assert.equal(await probe(port), undefined);
    });
  });
});
