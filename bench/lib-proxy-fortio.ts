// Fortio, the fixed-rate load generator Istio publishes its proxy figures with
// (its -qps mode schedules requests on a clock, so a slow response delays no
// later request's start and the latencies are free of coordinated omission).
// Built once from the Go module proxy into the cache; pinned because later
// releases pull in a module the proxy does not serve.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { availableParallelism, homedir, loadavg } from "node:os";
import { join } from "node:path";

export const FORTIO_VERSION = "v1.66.5";

export function cacheBinDir(): string {
  return join(process.env.WEFT_CACHE_DIR ?? join(homedir(), ".cache", "weft"), "bin");
}

export function fortioPath(): string {
  return join(cacheBinDir(), `fortio-${FORTIO_VERSION}`, "fortio");
}

/** Builds fortio if missing; returns its path, or null (with the reason logged) when it cannot be had. */
export function ensureFortio(log: (line: string) => void = console.log): string | null {
  const path = fortioPath();
  if (existsSync(path)) return path;
  const go = spawnSync("sh", ["-c", "command -v go || ls /usr/local/go/bin/go"], { encoding: "utf8" });
  const goBin = go.status === 0 ? go.stdout.trim().split("\n")[0] : undefined;
  if (!goBin) {
    log("[fortio] go is not installed; cannot build fortio");
    return null;
  }
  const dir = join(cacheBinDir(), `fortio-${FORTIO_VERSION}`);
  mkdirSync(dir, { recursive: true });
  log(`[fortio] building fortio.org/fortio@${FORTIO_VERSION} into ${dir} (once)`);
  const r = spawnSync(goBin, ["install", `fortio.org/fortio@${FORTIO_VERSION}`], {
    stdio: "inherit",
    env: { ...process.env, GOBIN: dir, CGO_ENABLED: "0" },
    timeout: 600_000,
  });
  if (r.status !== 0 || !existsSync(path)) {
    log("[fortio] build failed");
    return null;
  }
  return path;
}

/** What every proxy-pair benchmark starts from: fortio, and which CPUs the load and the proxies get. */
export interface PairBenchMachine {
  fortio: string;
  cores: number;
  /** fortio and the backend. */
  loadCpus: string;
  /** The proxies: a core of their own when there is a second one. */
  proxyCpus: string;
  /** The 1-minute load average before the benchmark: the report says how busy the machine was. */
  loadBefore: number;
}

export function pairBenchMachine(cpus: { loadCpus?: string | undefined; proxyCpus?: string | undefined }): PairBenchMachine {
  const fortio = ensureFortio((l) => console.error(l));
  if (!fortio) throw new Error("fortio is not available (needs Go and the Go module proxy); see bench/lib-proxy-fortio.ts");
  const cores = availableParallelism();
  return { fortio, cores, loadCpus: cpus.loadCpus ?? "0", proxyCpus: cpus.proxyCpus ?? (cores > 1 ? "1" : "0"), loadBefore: loadavg()[0] ?? 0 };
}
