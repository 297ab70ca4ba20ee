// Set-up step: the Gateway API conformance run's outside components (the suite as a Go
// test binary, Istio's echo server and client, CoreDNS), built once per version by
// test/conformance/build.sh. They build in one child process started before the
// Kubernetes build and running beside it, at a lower priority (nice 10), one Go build at
// a time: the two builds share the machine's cores and the Kubernetes one stays on the
// critical path. Does nothing when every stamp is there.
import { spawn } from "node:child_process";
import { BUILD_SCRIPT, COMPONENTS, componentBuilt, componentDir } from "../conformance/paths.ts";

/** Starts the builds that are missing; resolves when they end (never rejects: a failure is logged). */
export function startConformanceBuilds(log: (line: string) => void = console.log): Promise<void> {
  const missing = COMPONENTS.filter((c) => !componentBuilt(c));
  if (missing.length === 0) return Promise.resolve();
  log(`[prepare] building ${missing.join(", ")} for the Gateway API conformance run into ${missing.map(componentDir).join(", ")} (cold: minutes, beside the Kubernetes build)`);
  const started = Date.now();
  return new Promise((resolve) => {
    // stdio inherited, so its lines reach the terminal even while this process is blocked in a synchronous step.
    const child = spawn("nice", ["-n", "10", "bash", BUILD_SCRIPT, ...missing], { stdio: "inherit" });
    child.on("error", (err) => {
      log(`[prepare] conformance components: ${err.message}; the conformance run will not start`);
      resolve();
    });
    child.on("exit", (code, signal) => {
      const took = Math.round((Date.now() - started) / 1000);
      if (code === 0) log(`[prepare] conformance components ready after ${took} s`);
      else log(`[prepare] conformance components failed (exit ${String(code ?? signal)}) after ${took} s; the conformance run will not start`);
      resolve();
    });
  });
}
