// Weft's images are built without Docker, byte for byte the same on every build,
// small, and complete: Node runs from them with only the libraries they carry.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildImages, type BuildResult } from "../../images/build-images.ts";
import { writeTar } from "../../images/tar.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MB = 1e6;

describe("images: build", function () {
  this.timeout(20 * 60_000);
  let work: string;
  let first: BuildResult;
  let second: BuildResult;

  before(function () {
    if (!existsSync("/usr/sbin/xtables-nft-multi")) this.skip();
    work = mkdtempSync(join(tmpdir(), "weft-images-"));
    // Always: a dist/ left by an older tree (or by a partial build) would be imaged and tested instead of this one.
    execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" });
    first = buildImages({ root, layoutDir: join(work, "a"), tag: "test", archive: join(work, "a.tar") });
    second = buildImages({ root, layoutDir: join(work, "b"), tag: "test", archive: join(work, "b.tar") });
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("gives the same digests when built twice from the same input", () => {
    assert.deepEqual(
      second.images.map((i) => [i.reference, i.digest]),
      first.images.map((i) => [i.reference, i.digest]),
    );
    assert.equal(readFileSync(join(work, "b.tar")).equals(readFileSync(join(work, "a.tar"))), true, "the import archives are identical");
  });

  it("builds the control plane, webhook, dashboard, proxy, proxy-init, CNI agent and test app images", () => {
    assert.deepEqual(
      first.images.map((i) => i.reference),
      ["ghcr.io/weft-mesh/weft-control-plane:test", "ghcr.io/weft-mesh/weft-webhook:test", "ghcr.io/weft-mesh/weft-dashboard:test", "ghcr.io/weft-mesh/weft-proxy:test", "ghcr.io/weft-mesh/weft-proxy-init:test", "ghcr.io/weft-mesh/weft-cni:test", "weft.test/apps:test"],
    );
    const index = JSON.parse(readFileSync(join(work, "a", "index.json"), "utf8")) as { manifests: { annotations: Record<string, string> }[] };
    for (const [i, m] of index.manifests.entries()) {
      assert.equal(m.annotations["io.containerd.image.name"], first.images[i]?.reference);
      assert.equal(m.annotations["org.opencontainers.image.ref.name"], first.images[i]?.reference);
    }
  });

  it("keeps images small and shares their layers", () => {
    for (const image of first.images) assert.ok(image.compressedBytes < 70 * MB, `${image.reference} is ${(image.compressedBytes / MB).toFixed(1)} MB compressed`);
    // All six together cost a node little more than one: Node and the app are stored once.
    assert.ok(first.distinctCompressedBytes < 72 * MB, `all layers: ${(first.distinctCompressedBytes / MB).toFixed(1)} MB`);
  });

  describe("unpacked", () => {
    let rootfs: string;
    before(function () {
      if (process.getuid?.() !== 0) this.skip();
      // proxy-init has every layer but the test apps': node, app, iptables.
      const init = first.images.find((i) => i.reference.includes("weft-proxy-init"));
      assert.ok(init);
      rootfs = join(work, "rootfs");
      mkdirSync(rootfs);
      for (const layer of init.layers) {
        execFileSync("tar", ["-xzf", join(work, "a", "blobs", "sha256", layer.digest.slice(7)), "-C", rootfs]);
      }
    });
    const inImage = (args: string[]) => spawnSync("chroot", [rootfs, ...args], { encoding: "utf8", timeout: 60_000, env: { PATH: "/usr/local/bin:/usr/bin:/usr/sbin" } });

    it("runs Node with only the libraries the image carries", () => {
      const r = inImage(["node", "-e", "console.log(process.version)"]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^v24\./);
    });

    it("starts the compiled components far enough to print their usage", () => {
      for (const script of ["control-plane/src/main.js", "webhook/src/main.js", "sidecar/src/main.js", "sidecar/src/init-main.js"]) {
        if (!existsSync(join(root, script.replace(/\.js$/, ".ts")))) continue;
        const r = inImage(["node", `/weft/dist/${script}`, "--help"]);
        assert.equal(r.status, 0, `${script}: ${r.stderr}`);
        assert.match(r.stdout + r.stderr, /weft|usage/i, script);
      }
    });

    it("carries iptables with its extensions for the capture init step", () => {
      const r = inImage(["iptables-save", "--version"]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /nf_tables/);
      assert.ok(existsSync(join(rootfs, "usr/lib/x86_64-linux-gnu/xtables/libxt_REDIRECT.so")));
    });
  });
});

describe("images: tar writer", () => {
  it("writes entries GNU tar reads back with fixed owner, time and long names", function () {
    const dir = mkdtempSync(join(tmpdir(), "weft-tar-"));
    try {
      const long = `weft/node_modules/${"a".repeat(60)}/${"b".repeat(60)}/index.js`;
      const tar = writeTar([
        { type: "dir", path: "weft", mode: 0o755 },
        { type: "file", path: long, mode: 0o644, data: Buffer.from("x") },
        { type: "symlink", path: "weft/link", target: "node_modules" },
        { type: "dir", path: "tmp", mode: 0o1777 },
      ]);
      const listing = execFileSync("tar", ["--numeric-owner", "--full-time", "-tvf", "-"], { input: tar, encoding: "utf8" });
      assert.match(listing, new RegExp(`-rw-r--r-- 0/0 +1 1970-01-01 00:00:00 ${long}`));
      assert.match(listing, /lrwxrwxrwx 0\/0 +0 1970-01-01 00:00:00 weft\/link -> node_modules/);
      assert.match(listing, /drwxrwxrwt 0\/0/);
      execFileSync("tar", ["-xf", "-", "-C", dir], { input: tar });
      assert.equal(readFileSync(join(dir, long), "utf8"), "x");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
