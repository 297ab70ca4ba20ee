// Loads the built images into a containerd (the test node's), where the kubelet
// finds them by name: pods use imagePullPolicy Never or IfNotPresent.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const DEFAULT_IMAGES_DIR = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), ".cache", "images");
export const DEFAULT_ARCHIVE = join(DEFAULT_IMAGES_DIR, "weft-images.tar");

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
