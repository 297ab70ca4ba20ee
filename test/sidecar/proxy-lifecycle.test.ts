import { strict as assert } from "node:assert";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { startHttpEcho, type EchoApp } from "../fixtures/apps/http-echo.ts";
import { freePort } from "../support/ports.ts";
import { silentLogger } from "../../lib/log.ts";
import { MeshView } from "../../sidecar/src/discovery/mesh-view.ts";
import { startProxy } from "../../sidecar/src/proxy.ts";
import type { ObservedAttempt, ObservedOutcome, ObservedRequest, RequestObserver } from "../../sidecar/src/http/request-observer.ts";
import { holder, meshState, startMesh, testPki } from "./mesh-harness.ts";

function get(port: number, path: string, agent: http.Agent | false = false): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    }).on("error", reject);
  });
}

describe("proxy lifecycle, timeouts and hooks", function () {
  this.timeout(30_000);
  let app: EchoApp;
  before(async () => {
    app = await startHttpEcho();
  });
  after(() => app.server.close());

  it("answers 504 when the policy's request timeout passes", async () => {
    // The app's delay starts after the proxy's timer, so the 504 cannot depend on the
    // machine's speed; the budget is large enough that a quick answer on a loaded
    // machine (with the first mTLS handshake on its path) still makes it.
    const mesh = await startMesh({ backends: [{ appPort: app.port }], clientPolicy: { requestTimeoutMs: 1_000 } });
    try {
      assert.equal((await get(mesh.port, "/slow/10000")).status, 504);
      assert.equal((await get(mesh.port, "/slow/10")).status, 200);
    } finally {
      await mesh.stop();
    }
  });

  it("counts a timed-out attempt against its endpoint: repeated timeouts eject it", async () => {
    const mesh = await startMesh({
      backends: [{ appPort: app.port }],
      clientPolicy: { requestTimeoutMs: 200 },
      breaker: { failureThreshold: 2, baseEjectionMs: 60_000, maxEjectionMs: 60_000 },
    });
    try {
      for (let i = 0; i < 2; i++) assert.equal((await get(mesh.port, "/slow/2000")).status, 504);
      const text = await mesh.client.metrics.registry.metrics();
      const ejections = text.split("\n").filter((l) => l.startsWith("weft_proxy_endpoint_ejections_total")).reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
      assert.equal(ejections, 1);
    } finally {
      await mesh.stop();
    }
  });

  it("calls the request observer for the request, every attempt (with mutable headers) and the end", async () => {
    const events: string[] = [];
    const observer: RequestObserver = {
      onRequest: (r: ObservedRequest) => {
        if (r.direction !== "outbound") return undefined;
        events.push(`request ${r.method} ${r.path} ${r.service}`);
        return {
          onAttempt: (a: ObservedAttempt) => {
            a.headers.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
            events.push(`attempt ${a.attempt}`);
            return { onEnd: (o: ObservedOutcome) => events.push(`attempt-end ${o.status}`) };
          },
          onEnd: (o: ObservedOutcome) => events.push(`end ${o.status}`),
        };
      },
    };
    const mesh = await startMesh({ backends: [{ appPort: app.port }], observer });
    try {
      await get(mesh.port, "/status/503");
      assert.deepEqual(events, ["request GET /status/503 default/echo", "attempt 1", "attempt-end 503", "attempt 2", "attempt-end 503", "attempt 3", "attempt-end 503", "end 503"]);
    } finally {
      await mesh.stop();
    }
  });

  for (const peerTransport of ["h1", "h2"] as const) {
    it(`reports request and response body bytes to the observer (peer transport ${peerTransport})`, async () => {
      const ends: ObservedOutcome[] = [];
      const attemptEnds: ObservedOutcome[] = [];
      const observer: RequestObserver = {
        onRequest: () => ({ onAttempt: () => ({ onEnd: (o) => attemptEnds.push(o) }), onEnd: (o) => ends.push(o) }),
      };
      const mesh = await startMesh({ backends: [{ appPort: app.port }], observer, peerTransport });
      try {
        const body = await new Promise<Buffer>((resolve, reject) => {
          const req = http.request({ host: "127.0.0.1", port: mesh.port, method: "POST", path: "/upload", agent: false }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve(Buffer.concat(chunks)));
          });
          req.on("error", reject);
          req.end("hello world");
        });
        await get(mesh.port, "/big/5000");
        assert.equal(ends.length, 2);
        assert.equal(ends[0]?.requestBytes, 11);
        assert.equal(ends[0]?.responseBytes, body.length);
        assert.equal(ends[1]?.requestBytes, 0);
        assert.equal(ends[1]?.responseBytes, 5000);
        assert.deepEqual(attemptEnds.map((o) => [o.requestBytes, o.responseBytes]), ends.map((o) => [o.requestBytes, o.responseBytes]));
      } finally {
        await mesh.stop();
      }
    });
  }

  it("on drain finishes in-flight requests, tells HTTP/1.1 clients to close, and stops accepting", async () => {
    // An app that holds each request until the test answers it: the request is in
    // flight (it reached the app) when the drain starts, however slow the machine is.
    let arrived!: (res: http.ServerResponse) => void;
    const held = new Promise<http.ServerResponse>((resolve) => (arrived = resolve));
    const holding = http.createServer((req, res) => {
      req.resume();
      arrived(res);
    });
    await new Promise<void>((r) => holding.listen(0, "127.0.0.1", r));
    const mesh = await startMesh({ backends: [{ appPort: (holding.address() as AddressInfo).port }] });
    try {
      const inflight = get(mesh.port, "/held");
      const appResponse = await held;
      let drainDone = false;
      const drained = mesh.client.drain(10_000).then(() => (drainDone = true));
      // Drain has begun: new connections are refused while the held request is still open.
      await assert.rejects(get(mesh.port, "/after"));
      assert.equal(drainDone, false, "the drain waits for the request in flight");
      appResponse.end("done");
      const res = await inflight;
      assert.equal(res.status, 200);
      assert.equal(res.headers.connection, "close");
      await drained;
    } finally {
      await Promise.all(mesh.servers.map((s) => s.drain(2_000)));
      holding.closeAllConnections();
      await new Promise((r) => holding.close(r));
    }
  });

  it("runs the app's rewritten kubelet probes on the admin port and reports readiness", async () => {
    const pki = await testPki();
    const view = new MeshView();
    const deadPort = await freePort();
    const proxy = await startProxy({
      view,
      credentials: holder(pki.server),
      logger: silentLogger(),
      listenHost: "127.0.0.1",
      adminPort: 0,
      appProbes: {
        "/app-health/app/readyz": { httpGet: { port: app.port, path: "/status/200", scheme: "HTTP" }, timeoutSeconds: 1 },
        "/app-health/app/livez": { httpGet: { port: app.port, path: "/status/500", scheme: "HTTP" }, timeoutSeconds: 1 },
        "/app-health/app/startupz": { tcpSocket: { port: deadPort }, timeoutSeconds: 1 },
      },
    });
    const admin = proxy.ports.get("admin") ?? 0;
    try {
      assert.equal((await get(admin, "/live")).status, 200);
      assert.equal((await get(admin, "/ready")).status, 503, "no snapshot yet");
      view.update(meshState({}));
      assert.equal((await get(admin, "/ready")).status, 200);
      assert.equal((await get(admin, "/app-health/app/readyz")).status, 200);
      assert.equal((await get(admin, "/app-health/app/livez")).status, 503);
      assert.equal((await get(admin, "/app-health/app/startupz")).status, 503);
      assert.equal((await get(admin, "/app-health/other/readyz")).status, 404);
    } finally {
      await proxy.drain(1_000);
    }
  });
});
