// Loads the built images into a containerd (the test node's), where the kubelet
// finds them by name: pods use imagePullPolicy Never or IfNotPresent.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const DEFAULT_IMAGES_DIR = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), ".cache", "images");
export const DEFAULT_ARCHIVE = join(DEFAULT_IMAGES_DIR, "weft-images.tar");

/** What goes into the images: an archive older than any of these is stale. */
const IMAGE_INPUTS = ["api", "cli", "cni", "control-plane", "dashboard", "images", "lib", "sidecar", "webhook", join("test", "images"), "package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json"];

function newestMtimeMs(path: string): number {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  return newest;
}

/**
 * Why `archive` must be rebuilt before a test imports it, or undefined when it is newer than every input.
 * Tests that reuse an archive call this, so an edit since the last `npm run images` is never tested as old code.
 */
export function archiveOutdated(root: string, archive = DEFAULT_ARCHIVE): string | undefined {
  if (!existsSync(archive)) return `${archive} does not exist`;
  const built = statSync(archive).mtimeMs;
  const stale = IMAGE_INPUTS.find((input) => newestMtimeMs(join(root, input)) > built);
  return stale === undefined ? undefined : `${stale} changed after ${archive} was built`;
}

/** `ctr -a <socket> -n k8s.io images import <archive>`; resolves with ctr's output. */
export function importImages(containerdSocket: string, archive = DEFAULT_ARCHIVE): Promise<string> {
  if (!existsSync(archive)) return Promise.reject(new Error(`${archive} does not exist: run npm run images first`));
  return new Promise((resolvePromise, reject) => {
    execFile("ctr", ["-a", containerdSocket, "-n", "k8s.io", "images", "import", "--no-unpack=false", archive], { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ctr images import failed: ${err.message}\n${stderr}`));
      else resolvePromise(stdout);
    });
  });
}
