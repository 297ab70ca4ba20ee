// The scripts the chart's hooks run with `node -e` (charts/weft/files), run here the
// same way against a local server standing in for the control plane.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { startNode } from "../support/process.ts";
import { CHART } from "./helm.ts";

async function runScript(file: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const p = startNode(file, ["-e", readFileSync(join(CHART, "files", file), "utf8"), ...args], { env: { WEFT_CONTROL_PLANE_SERVICE_HOST: undefined } });
  const code = await p.exited;
  return { code, out: p.output };
}

describe("chart: helm test script", function () {
  this.timeout(60_000);
  let server: Server;
  let answers: number[];
  let port: number;
  beforeEach(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url === "/ready" ? (answers.shift() ?? 200) : 404;
      res.end(res.statusCode === 200 ? "ok" : "not ready");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  it("passes when the control plane answers /ready", async () => {
    answers = [200];
    const r = await runScript("ready-check.js", ["127.0.0.1", String(port)]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /"status":200/);
  });

  it("waits through not-ready answers until ready", async () => {
    answers = [503, 503];
    const r = await runScript("ready-check.js", ["127.0.0.1", String(port)]);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.match(/"status":503/g)?.length, 2);
  });
});
