// Set-up step: Prometheus (test/prometheus/build.sh), built once per version into the cache,
// in a child process started before the Kubernetes build and running beside it at a lower
// priority (nice 10), as the conformance components are: the Kubernetes build stays on the
// critical path. Does nothing when the stamp is there.
import { spawn } from "node:child_process";
import { PROMETHEUS_BUILD_SCRIPT, PROMETHEUS_VERSION, prometheusBuilt, prometheusDir } from "../prometheus/paths.ts";

/** Starts the build if it is missing; resolves when it ends (never rejects: a failure is logged). */
export function startPrometheusBuild(log: (line: string) => void = console.log): Promise<void> {
  if (prometheusBuilt()) return Promise.resolve();
  log(`[prepare] building Prometheus ${PROMETHEUS_VERSION} into ${prometheusDir()} (metrics tests, the chart's prometheus.enabled; cold: minutes, beside the Kubernetes build)`);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn("nice", ["-n", "10", "bash", PROMETHEUS_BUILD_SCRIPT], { stdio: "inherit" });
    child.on("error", (err) => {
      log(`[prepare] Prometheus: ${err.message}; the metrics tests that need it will be skipped`);
      resolve();
    });
    child.on("exit", (code, signal) => {
      const took = Math.round((Date.now() - started) / 1000);
      if (code === 0) log(`[prepare] Prometheus ready after ${took} s`);
      else log(`[prepare] Prometheus build failed (exit ${String(code ?? signal)}) after ${took} s; the metrics tests that need it will be skipped`);
      resolve();
    });
  });
}
