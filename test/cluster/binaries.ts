// Where the test cluster's binaries live and whether they are built. The build itself is
// test/cluster/build.sh; this module only knows its cache layout and how to call it.
import { existsSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { homedir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const KUBERNETES_VERSION = "v1.34.4";

export function cacheRoot(): string {
  return process.env.WEFT_CACHE_DIR ?? join(homedir(), ".cache", "weft");
}

export function kubernetesBinDir(): string {
  return join(cacheRoot(), "kubernetes", KUBERNETES_VERSION, "bin");
}

const CONTROL_PLANE = ["etcd", "kube-apiserver", "kube-controller-manager"];
const NODE = ["kube-scheduler", "kubelet", "kube-proxy"];

function allExecutable(names: string[]): boolean {
  const dir = kubernetesBinDir();
  return names.every((n) => existsSync(join(dir, n)));
}

/** True when the control plane can start; the node needs nodeBinariesAvailable() too. */
export function kubernetesBinariesAvailable(): boolean {
  return allExecutable(CONTROL_PLANE);
}

export function nodeBinariesAvailable(): boolean {
  return (
    allExecutable(NODE) &&
    ["containerd", "runc", "ctr"].every((c) => spawnSync("sh", ["-c", `command -v ${c}`], { stdio: "ignore" }).status === 0) &&
    existsSync("/usr/lib/cni/bridge")
  );
}

/**
 * A complete build leaves a version-keyed stamp next to the binaries; builds from before
 * kube-proxy joined them have a stamp without the suffix, so build.sh adds just that.
 */
export function kubernetesBuildComplete(): boolean {
  const dir = kubernetesBinDir();
  return existsSync(dir) && readdirSync(dir).some((f) => f.startsWith(`.complete-${KUBERNETES_VERSION}-`) && f.endsWith("-kube-proxy"));
}

export function binary(name: string): string {
  const built = join(kubernetesBinDir(), name);
  return existsSync(built) ? built : name;
}

export const BUILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "build.sh");
