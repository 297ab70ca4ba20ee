// `weft check`'s handshake with the webhook, against real TLS servers on loopback:
// verified only when the served certificate chains to the caBundle and names the
// Service; "not reached" (so the check falls back to the Secret) when nothing answers.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { createServer, type Server } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { servedCertificate } from "../../cli/src/check-webhook-tls.ts";
import { freePort } from "../support/ports.ts";

const SERVICE = "weft-webhook.weft-system.svc";

function certificate(dnsName: string): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "weft-check-tls-"));
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-subj", "/CN=weft-webhook-ca", "-addext", `subjectAltName=DNS:${dnsName}`,
      "-days", "2", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    return { cert: readFileSync(join(dir, "cert.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("weft check: the certificate the webhook serves", function () {
  this.timeout(30_000);
  const good = certificate(SERVICE);
  const other = certificate(SERVICE);
  const wrongName = certificate("elsewhere.example");
  const servers: Server[] = [];

  async function serve(pair: { cert: string; key: string }): Promise<number> {
    const server = createServer(pair, (socket) => socket.end());
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return (server.address() as AddressInfo).port;
  }

  after(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it("is verified when it chains to the caBundle and names the Service", async () => {
    const port = await serve(good);
    const fact = await servedCertificate({ host: "127.0.0.1", port, servername: SERVICE, caPem: good.cert });
    assert.deepEqual(fact, { reached: true, address: `127.0.0.1:${port}`, verified: true, detail: "" });
  });

  it("is refused when another CA issued it", async () => {
    const port = await serve(other);
    const fact = await servedCertificate({ host: "127.0.0.1", port, servername: SERVICE, caPem: good.cert });
    assert.equal(fact.reached, true);
    assert.equal(fact.reached && fact.verified, false);
    assert.match(fact.detail, /^not issued by the caBundle's CA \(DEPTH_ZERO_SELF_SIGNED_CERT\) \(served: CN=weft-webhook-ca/);
  });

  it("is refused when it does not name the Service", async () => {
    const port = await serve(wrongName);
    const fact = await servedCertificate({ host: "127.0.0.1", port, servername: SERVICE, caPem: wrongName.cert });
    assert.equal(fact.reached && fact.verified, false);
    assert.match(fact.detail, /^does not name weft-webhook\.weft-system\.svc/);
  });

  it("is not reached when nothing listens, and a server that never completes the handshake is reached but unverified", async () => {
    const none = await servedCertificate({ host: "127.0.0.1", port: await freePort(), servername: SERVICE, caPem: good.cert });
    assert.equal(none.reached, false);
    assert.match(none.detail, /ECONNREFUSED/);

    const held: Socket[] = [];
    const silent = createNetServer((socket) => void held.push(socket));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const port = (silent.address() as AddressInfo).port;
      const stuck = await servedCertificate({ host: "127.0.0.1", port, servername: SERVICE, caPem: good.cert, timeoutMs: 500 });
      assert.deepEqual(stuck, { reached: true, address: `127.0.0.1:${port}`, verified: false, detail: "TLS handshake timed out" });
    } finally {
      // Drop the connection the probe left behind, or close() waits for it.
      const closed = new Promise((r) => silent.close(r));
      for (const socket of held) socket.destroy();
      await closed;
    }
  });
});
