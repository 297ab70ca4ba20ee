// The images a test node runs, built from host files (no registry): a pause image for
// pod sandboxes and a busybox image whose httpd serves a page. Archives are cached by
// content, so building them again costs nothing.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cacheRoot } from "./binaries.ts";
import { buildOciImage, type ImageSpec } from "./oci-image.ts";

export const PAUSE_IMAGE = "weft.test/pause:1";
export const BUSYBOX_IMAGE = "weft.test/busybox:1";
export const BUSYBOX = "/bin/busybox";

// A pause process must exit on TERM; a shell as PID 1 ignores signals it has no trap for.
const pause: ImageSpec = {
  name: PAUSE_IMAGE,
  files: [{ path: "/bin/busybox", from: BUSYBOX, mode: 0o755 }],
  entrypoint: ["/bin/busybox", "sh", "-c", "trap 'exit 0' TERM INT; while true; do /bin/busybox sleep 3600 & wait $!; done"],
};

const busybox: ImageSpec = {
  name: BUSYBOX_IMAGE,
  files: [
    { path: "/bin/busybox", from: BUSYBOX, mode: 0o755 },
    { path: "/bin/sh", symlinkTo: "busybox" },
    { path: "/www/index.html", content: "hello from a weft test pod\n" },
  ],
  cmd: ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"],
};

function cachedImage(spec: ImageSpec): string {
  const hash = createHash("sha256").update(JSON.stringify(spec)).update(readFileSync(BUSYBOX)).digest("hex").slice(0, 16);
  const out = join(cacheRoot(), "images", `${spec.name.replace(/[^a-z0-9.-]/g, "_")}-${hash}.tar`);
  return existsSync(out) ? out : buildOciImage(spec, out);
}

/** Archive paths of every test image, built on first use. */
export function testImageArchives(): string[] {
  return [cachedImage(pause), cachedImage(busybox)];
}
