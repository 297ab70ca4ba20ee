import { strict as assert } from "node:assert";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { startHttpEcho, type EchoApp } from "../fixtures/apps/http-echo.ts";
import { waitFor } from "../support/wait.ts";
import { startMesh, type Mesh } from "./mesh-harness.ts";

/** An app that answers 503 while `failing` is set. */
async function startSwitchable(): Promise<{ server: http.Server; port: number; failing: boolean; requests: number }> {
  const app = { server: http.createServer(), port: 0, failing: true, requests: 0 };
  app.server.on("request", (req, res) => {
    app.requests += 1;
    req.resume();
    res.writeHead(app.failing ? 503 : 200, { "x-app": "switchable" });
    res.end(app.failing ? "down\n" : "{}");
  });
  await new Promise<void>((r) => app.server.listen(0, "127.0.0.1", r));
  app.port = (app.server.address() as AddressInfo).port;
  return app;
}

function get(port: number, path: string, method = "GET"): Promise<{ status: number; app: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, app: String(res.headers["x-app"] ?? "") }));
    });
    req.on("error", reject);
    req.end(method === "POST" ? "body" : undefined);
  });
}

async function metric(mesh: Mesh, name: string): Promise<number> {
  const text = await mesh.client.metrics.registry.metrics();
  let sum = 0;
  for (const line of text.split("\n")) if (line.startsWith(name)) sum += Number(line.split(" ").at(-1));
  return sum;
}

describe("retries, budgets and ejection", function () {
  this.timeout(60_000);
  let good: EchoApp;
  let bad: Awaited<ReturnType<typeof startSwitchable>>;
  let mesh: Mesh;

  before(async () => {
    good = await startHttpEcho(0, "127.0.0.1", "good");
    bad = await startSwitchable();
    mesh = await startMesh({
      backends: [{ appPort: good.port }, { appPort: bad.port }],
      breaker: { failureThreshold: 3, baseEjectionMs: 400, maxEjectionMs: 800 },
    });
  });
  after(async () => {
    await mesh.stop();
    good.server.close();
    bad.server.close();
  });

  it("hides a backend that fails part of the requests from idempotent callers", async () => {
    // In batches of 8: with requests in flight on the good endpoint, p2c also
    // picks the failing one (one at a time, a fast machine can keep the good
    // endpoint cheaper than an unmeasured one for all 40, and nothing fails).
    for (let batch = 0; batch < 5; batch++) {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => get(mesh.port, `/r/${batch}/${i}`)));
      results.forEach((res, i) => assert.equal(res.status, 200, `request ${batch}/${i}`));
    }
    assert.ok(bad.requests >= 1, "the failing backend was tried");
    assert.ok((await metric(mesh, "weft_proxy_retries_total")) >= 1);
  });

  it("ejects the failing endpoint and takes it back once it recovers", async () => {
    // Concurrent load: requests in flight on the good endpoint make p2c try the bad one too.
    await waitFor("the failing endpoint to be ejected", async () => {
      await Promise.all(Array.from({ length: 10 }, (_, i) => get(mesh.port, `/load/${i}`)));
      return (await metric(mesh, "weft_proxy_endpoint_ejections_total")) >= 1;
    }, { timeoutMs: 30_000, intervalMs: 20 });
    bad.failing = false;
    const before = bad.requests;
    // After the ejection backoff the endpoint is probed with a real request, which succeeds.
    await waitFor("the recovered endpoint to be sent a request again", async () => {
      await Promise.all(Array.from({ length: 5 }, () => get(mesh.port, "/again")));
      return bad.requests > before;
    }, { timeoutMs: 20_000, intervalMs: 20 });
    bad.failing = true;
  });
});

describe("which requests are retried", function () {
  this.timeout(60_000);
  it("retries an idempotent GET at most twice and never a POST that got a response", async () => {
    const bad = await startSwitchable();
    const mesh = await startMesh({ backends: [{ appPort: bad.port }], breaker: { failureThreshold: 1_000_000, baseEjectionMs: 1, maxEjectionMs: 1 } });
    try {
      assert.equal((await get(mesh.port, "/get")).status, 503);
      assert.equal(bad.requests, 3);
      assert.equal((await get(mesh.port, "/post", "POST")).status, 503);
      assert.equal(bad.requests, 4);
    } finally {
      await mesh.stop();
      bad.server.close();
    }
  });
});

describe("the retry budget", function () {
  this.timeout(60_000);
  it("refuses retries beyond ratio + floor when every endpoint fails", async () => {
    const a = await startSwitchable();
    const b = await startSwitchable();
    const mesh = await startMesh({
      backends: [{ appPort: a.port }, { appPort: b.port }],
      clientPolicy: { retry: { enabled: true, maxRetries: 2, budgetRatio: 0.1, budgetMinPerSecond: 1 } },
      breaker: { failureThreshold: 1_000_000, baseEjectionMs: 1, maxEjectionMs: 1 },
    });
    try {
      for (let i = 0; i < 60; i++) assert.equal((await get(mesh.port, "/x")).status, 503);
      const refused = await metric(mesh, "weft_proxy_retry_budget_exhausted_total");
      const retries = await metric(mesh, "weft_proxy_retries_total");
      assert.ok(refused > 0, "budget refused some retries");
      // 10% of 60 requests + 1/s over a 10 s window = at most 16 retries.
      assert.ok(retries <= 16, `retries ${retries}`);
      assert.equal(a.requests + b.requests, 60 + retries);
    } finally {
      await mesh.stop();
      a.server.close();
      b.server.close();
    }
  });
});
