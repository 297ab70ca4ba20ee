import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import express from "express";
import { createCsr, generateKeyPair, pemBlocks, privateKeyToPem } from "../../lib/pki.ts";
import { TLS_POLICY } from "../../lib/tls-policy.ts";
import { IdentityClient } from "../../sidecar/src/identity/client.ts";
import { buildTlsMaterial } from "../../sidecar/src/identity/credentials-source.ts";
import { startWebhookServer } from "../../webhook/src/server.ts";
import { selfSignedCertificate } from "../cluster/self-signed.ts";
import { CLI, CP, controlPlaneStarted, TD } from "../control-plane/local-process-harness.ts";
import { startMesh, testPki } from "../sidecar/mesh-harness.ts";
import { startNode, type TestProcess } from "../support/process.ts";

/** Suites a TLS 1.2 client may try: CBC with ECDHE, and RSA key exchange (with GCM, so only the key exchange is at fault). */
const REFUSED = ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES128-SHA256", "AES128-GCM-SHA256", "AES256-SHA"];
const AEAD = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"];

interface ClientCert {
  key?: string;
  cert?: string;
}

/** The TLS 1.2 suite a handshake offering only `cipher` ends with, or the error it fails with. */
function handshake(port: number, cipher: string, client: ClientCert = {}, maxVersion: tls.SecureVersion = "TLSv1.2"): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ciphers: cipher, maxVersion, minVersion: maxVersion, rejectUnauthorized: false, ALPNProtocols: ["h2", "http/1.1"], ...client });
    socket.setTimeout(10_000, () => socket.destroy(new Error("timeout")));
    socket.on("secureConnect", () => {
      resolve(`${socket.getProtocol() ?? "?"} ${socket.getCipher().standardName}`);
      socket.destroy();
    });
    socket.on("error", (err: Error & { code?: string }) => resolve(`error ${err.code ?? err.message}`));
  });
}

/** Every refused suite fails the handshake and every AEAD one completes it, on TLS 1.2. */
async function assertPolicy(port: number, client: ClientCert = {}): Promise<void> {
  for (const cipher of REFUSED) assert.match(await handshake(port, cipher, client), /^error /, `${cipher} was accepted`);
  for (const cipher of AEAD) assert.match(await handshake(port, cipher, client), /^TLSv1\.2 TLS_ECDHE_ECDSA_WITH_/, `${cipher} was refused`);
  assert.match(await handshake(port, "DEFAULT", client, "TLSv1.3"), /^TLSv1\.3 TLS_/);
  assert.match(await handshake(port, "DEFAULT", client, "TLSv1.1"), /^error /);
}

describe("TLS on Weft's ports: TLS 1.2 at least, and only ECDHE AEAD suites on it", function () {
  this.timeout(90_000);

  it("a server on the policy keeps it across certificate rotations (setSecureContext resets a cipher list)", async () => {
    const cert = selfSignedCertificate();
    const server = tls.createServer({ ...cert, ...TLS_POLICY }, (s) => s.end());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as AddressInfo).port;
      await assertPolicy(port);
      server.setSecureContext({ ...selfSignedCertificate(), ...TLS_POLICY });
      await assertPolicy(port);
    } finally {
      server.close();
    }
  });

  it("the proxy's inbound mTLS port, and its outbound client, which offers no other suite", async () => {
    const pki = await testPki();
    const mesh = await startMesh({ backends: [{ appPort: 1 }] });
    try {
      const inbound = mesh.servers[0]?.ports.get("inbound:0") ?? 0;
      await assertPolicy(inbound, { key: pki.client.keyPem, cert: pki.client.certChainPem });
    } finally {
      await mesh.stop();
    }
    // The outbound side dials with the context buildTlsMaterial makes: against a server that takes only CBC, no handshake.
    const material = buildTlsMaterial({ keyPem: pki.client.keyPem, certChainPem: pki.client.certChainPem, anchorsPem: pki.client.anchorsPem });
    assert.ok(material.ok);
    const dial = async (serverCiphers: string): Promise<string> => {
      const server = tls.createServer({ ...selfSignedCertificate(), ciphers: serverCiphers, maxVersion: "TLSv1.2" }, (s) => s.end());
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      try {
        return await new Promise<string>((resolve) => {
          const socket = tls.connect({ host: "127.0.0.1", port: (server.address() as AddressInfo).port, secureContext: material.value.context, rejectUnauthorized: false });
          socket.on("secureConnect", () => {
            resolve(socket.getCipher().standardName);
            socket.destroy();
          });
          socket.on("error", (err: Error & { code?: string }) => resolve(`error ${err.code ?? err.message}`));
        });
      } finally {
        server.close();
      }
    };
    assert.match(await dial("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA"), /^error /);
    assert.equal(await dial("ECDHE-ECDSA-AES128-GCM-SHA256"), "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
  });

  it("the webhook's port, before and after its certificate is replaced", async () => {
    const app = express();
    const server = await startWebhookServer(app, selfSignedCertificate(), { port: 0, host: "127.0.0.1" });
    try {
      await assertPolicy(server.port);
      server.setCertificate(selfSignedCertificate());
      await assertPolicy(server.port);
    } finally {
      await server.close();
    }
  });

  describe("the control plane's identity and discovery ports", () => {
    let dir: string;
    let proc: TestProcess | undefined;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), "weft-tls-"));
    });
    after(() => {
      proc?.kill();
      rmSync(dir, { recursive: true, force: true });
    });

    it("refuse CBC and RSA key exchange and take AEAD suites", async () => {
      const ca = join(dir, "ca");
      const init = spawnSync(process.execPath, [CLI, "identity", "init", "--dir", ca, "--local", "--trust-domain", TD], { encoding: "utf8" });
      assert.equal(init.status, 0, init.stderr);
      const token = spawnSync(process.execPath, [CLI, "identity", "token", "--dir", ca, "--namespace", "shop", "--service-account", "cart"], { encoding: "utf8" });
      assert.equal(token.status, 0, token.stderr);
      proc = startNode("control-plane", [CP, "--mode", "local", "--issuer-dir", ca, "--trust-domain", TD, "--host", "127.0.0.1", "--identity-port", "0", "--discovery-port", "0", "--admin-port", "0"]);
      const ports = await controlPlaneStarted(proc);
      await assertPolicy(ports.identityPort);

      // Discovery wants a mesh certificate: one from the identity service.
      const keys = await generateKeyPair();
      const client = new IdentityClient({ address: `127.0.0.1:${ports.identityPort}`, trustAnchorsPem: readFileSync(join(ca, "ca.crt"), "utf8"), serverIdentity: `spiffe://${TD}/ns/weft/sa/weft-control-plane` });
      try {
        const issued = await client.certify({ token: token.stdout.trim(), csrDer: pemBlocks(await createCsr(keys))[0]!.der, identity: `spiffe://${TD}/ns/shop/sa/cart` });
        assert.ok(issued.ok, issued.ok ? "" : issued.message);
        await assertPolicy(ports.discoveryPort, { key: await privateKeyToPem(keys.privateKey), cert: issued.value.certChainPem });
      } finally {
        client.close();
      }
    });
  });
});
