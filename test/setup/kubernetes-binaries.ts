// Set-up step: the test cluster's Kubernetes binaries (test/cluster/build.sh), built once
// into a version-keyed cache outside the repo. A cold build is long, so it says so.
import { spawnSync } from "node:child_process";
import { BUILD_SCRIPT, kubernetesBinDir, kubernetesBuildComplete, KUBERNETES_VERSION } from "../cluster/binaries.ts";

export function ensureKubernetesBinaries(): void {
  if (kubernetesBuildComplete()) return;
  console.log(`[prepare] building Kubernetes ${KUBERNETES_VERSION} test binaries into ${kubernetesBinDir()}`);
  console.log("[prepare] a cold build takes about half an hour on 2 cores; later runs reuse the cache");
  const started = Date.now();
  const result = spawnSync("bash", [BUILD_SCRIPT], { stdio: "inherit" });
  if (result.status !== 0) {
    throw new Error(`[prepare] ${BUILD_SCRIPT} failed (exit ${String(result.status ?? result.signal)})`);
  }
  console.log(`[prepare] Kubernetes binaries ready after ${Math.round((Date.now() - started) / 1000)} s`);
}
