// The tap API's serving certificate flags and files: both flags or neither,
// and a pair whose key is not the certificate's is refused with the file named.
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseControlPlaneFlags } from "../../control-plane/src/identity-config.ts";
import { readServingPair } from "../../control-plane/src/tap-serving-tls.ts";
import { selfSignedCertificate } from "../cluster/self-signed.ts";

describe("tap API: its serving certificate", () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "weft-tap-tls-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("takes --tap-tls-cert with --tap-tls-key, and refuses one without the other", () => {
    const base = ["--issuer-dir", dir, "--tap-port", "8089"];
    const both = parseControlPlaneFlags([...base, "--tap-tls-cert", "/c", "--tap-tls-key", "/k"], {});
    assert.ok(both.ok);
    assert.deepEqual(both.value.tapTls, { certFile: "/c", keyFile: "/k" });
    const neither = parseControlPlaneFlags(base, {});
    assert.ok(neither.ok);
    assert.equal(neither.value.tapTls, undefined);
    const half = parseControlPlaneFlags([...base, "--tap-tls-cert", "/c"], {});
    assert.equal(half.ok, false);
  });

  it("reads a matching pair, and refuses a key that is not the certificate's or a missing file", () => {
    const a = selfSignedCertificate();
    const b = selfSignedCertificate();
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const good = readServingPair({ certFile: file("a.crt", a.cert), keyFile: file("a.key", a.key) });
    assert.ok(good.ok);
    assert.equal(good.value.certChainPem, a.cert);
    const mixed = readServingPair({ certFile: join(dir, "a.crt"), keyFile: file("b.key", b.key) });
    assert.equal(mixed.ok, false);
    assert.match(mixed.ok ? "" : mixed.message, /a\.crt/);
    assert.equal(readServingPair({ certFile: join(dir, "none.crt"), keyFile: join(dir, "a.key") }).ok, false);
  });
});
