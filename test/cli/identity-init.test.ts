import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readCaFiles } from "../../control-plane/src/ca-files.ts";

const CLI = fileURLToPath(new URL("../../cli/src/main.ts", import.meta.url));
const weft = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });

describe("weft identity init", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "weft-cli-identity-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes an anchor and an issuer the control plane loads, with the trust domain and lifetimes asked for", async () => {
    const r = weft("identity", "init", "--dir", dir, "--trust-domain", "example.org", "--anchor-lifetime", "30d", "--issuer-lifetime", "7d");
    assert.equal(r.status, 0, r.stderr);
    execFileSync("openssl", ["verify", "-CAfile", join(dir, "ca.crt"), join(dir, "issuer.crt")]);
    const anchor = new X509Certificate(readFileSync(join(dir, "ca.crt")));
    const issuer = new X509Certificate(readFileSync(join(dir, "issuer.crt")));
    assert.match(anchor.subject, /example\.org/);
    const days = (c: X509Certificate) => (new Date(c.validTo).getTime() - Date.now()) / 86_400_000;
    assert.ok(Math.abs(days(anchor) - 30) < 0.1 && Math.abs(days(issuer) - 7) < 0.1, `${days(anchor)} ${days(issuer)}`);
    assert.equal(statSync(join(dir, "issuer.key")).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, "ca.key")).mode & 0o777, 0o600);
    const loaded = await readCaFiles({ issuerDir: dir });
    assert.ok(loaded.ok, loaded.ok ? "" : loaded.message);
  });

  it("refuses to overwrite an existing mesh without --force, and refuses bad lifetimes", () => {
    assert.equal(weft("identity", "init", "--dir", dir).status, 0);
    const again = weft("identity", "init", "--dir", dir);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /use --force/);
    assert.equal(weft("identity", "init", "--dir", dir, "--force").status, 0);
    const bad = weft("identity", "init", "--dir", join(dir, "x"), "--issuer-lifetime", "forever");
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--issuer-lifetime: "forever" is not a duration/);
    const longer = weft("identity", "init", "--dir", join(dir, "y"), "--issuer-lifetime", "400d", "--anchor-lifetime", "365d");
    assert.equal(longer.status, 2);
    assert.match(longer.stderr, /must not exceed/);
  });

  it("leaves keys 0600 and their directory 0700 under --force, whatever the old modes and the umask", () => {
    const keys = join(dir, "keys");
    for (const umask of ["000", "022"]) {
      mkdirSync(keys, { recursive: true });
      chmodSync(keys, 0o755);
      for (const f of ["ca.crt", "ca.key", "issuer.crt", "issuer.key", "local-token.key"]) {
        writeFileSync(join(keys, f), "old\n");
        chmodSync(join(keys, f), 0o644);
      }
      const r = spawnSync("sh", ["-c", `umask ${umask}; exec "$0" "$@"`, process.execPath, CLI, "identity", "init", "--dir", keys, "--force", "--local"], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const mode = (f: string) => (statSync(join(keys, f)).mode & 0o777).toString(8);
      assert.deepEqual(
        { dir: mode(""), ca: mode("ca.key"), issuer: mode("issuer.key"), token: mode("local-token.key") },
        { dir: "700", ca: "600", issuer: "600", token: "600" },
        `umask ${umask}`,
      );
      assert.notEqual(readFileSync(join(keys, "ca.key"), "utf8"), "old\n");
    }
    // A directory it creates itself starts 0700 too, even under umask 000.
    const fresh = join(dir, "fresh", "keys");
    const r = spawnSync("sh", ["-c", `umask 000; exec "$0" "$@"`, process.execPath, CLI, "identity", "init", "--dir", fresh], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((statSync(fresh).mode & 0o777).toString(8), "700");
    assert.equal((statSync(join(fresh, "ca.key")).mode & 0o777).toString(8), "600");
  });

  it("mints local tokens only with the key init --local wrote", () => {
    assert.equal(weft("identity", "init", "--dir", dir).status, 0);
    const noKey = weft("identity", "token", "--dir", dir, "--namespace", "shop", "--service-account", "cart");
    assert.equal(noKey.status, 2);
    assert.match(noKey.stderr, /local-token.key/);
    assert.equal(weft("identity", "init", "--dir", dir, "--force", "--local").status, 0);
    const ok = weft("identity", "token", "--dir", dir, "--namespace", "shop", "--service-account", "cart");
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout.trim(), /^weft1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });
});
