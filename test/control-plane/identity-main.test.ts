import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCsr, generateKeyPair, pemBlocks } from "../../lib/pki.ts";
import { IdentityClient } from "../../sidecar/src/identity/client.ts";
import { startNode, type TestProcess } from "../support/process.ts";
import { controlPlaneStarted } from "./local-process-harness.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = join(ROOT, "control-plane/src/main.ts");
const CLI = join(ROOT, "cli/src/main.ts");

describe("weft-control-plane in local mode, from `weft identity init` to a certificate", function () {
  this.timeout(90_000);
  let dir: string;
  let proc: TestProcess | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "weft-cp-"));
  });
  after(() => {
    proc?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses bad flags with a message and exit code 2", () => {
    const r = spawnSync(process.execPath, [MAIN, "--mode", "cloud", "--issuer-dir", dir], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--mode must be kubernetes or local/);
  });

  it("serves Certify, /ready and /metrics, and drains on SIGTERM", async () => {
    const init = spawnSync(process.execPath, [CLI, "identity", "init", "--dir", join(dir, "ca"), "--local", "--trust-domain", "example.org"], { encoding: "utf8" });
    assert.equal(init.status, 0, init.stderr);
    const token = spawnSync(process.execPath, [CLI, "identity", "token", "--dir", join(dir, "ca"), "--namespace", "shop", "--service-account", "cart"], { encoding: "utf8" });
    assert.equal(token.status, 0, token.stderr);

    proc = startNode("control-plane", [MAIN, "--mode", "local", "--issuer-dir", join(dir, "ca"), "--trust-domain", "example.org", "--host", "127.0.0.1", "--identity-port", "0", "--admin-port", "0", "--leaf-lifetime", "1h"]);
    const started = await controlPlaneStarted(proc);
    const admin = `http://127.0.0.1:${started.adminPort}`;
    assert.equal((await fetch(`${admin}/live`)).status, 200);
    assert.equal((await fetch(`${admin}/ready`)).status, 200);

    const client = new IdentityClient({
      address: `127.0.0.1:${started.identityPort}`,
      trustAnchorsPem: readFileSync(join(dir, "ca", "ca.crt"), "utf8"),
      serverIdentity: "spiffe://example.org/ns/weft/sa/weft-control-plane",
    });
    try {
      const csrDer = pemBlocks(await createCsr(await generateKeyPair()))[0]!.der;
      const r = await client.certify({ token: token.stdout.trim(), csrDer, identity: "spiffe://example.org/ns/shop/sa/cart" });
      assert.ok(r.ok, r.ok ? "" : r.message);
      const bad = await client.certify({ token: "nope", csrDer });
      assert.equal(bad.ok ? "OK" : bad.code, "UNAUTHENTICATED");
    } finally {
      client.close();
    }
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.match(metrics, /^weft_identity_certificates_issued_total 1$/m);
    assert.match(metrics, /^weft_identity_certificates_refused_total\{reason="token-malformed"\} 1$/m);
    assert.match(metrics, /^weft_identity_issuer_expiry_seconds \d+/m);

    assert.equal(await proc.stop(30_000), 0);
    assert.match(proc.stdout, /"drained"/);
  });
});
