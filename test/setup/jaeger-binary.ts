// Set-up step: builds the Jaeger v2 binary (the tracing backend the tracing
// tests start) once per version into the cache, through test/tracing/build-jaeger.sh.
// Does nothing when the stamped build is already there.
import { spawnSync } from "node:child_process";
import { BUILD_SCRIPT, JAEGER_VERSION, jaegerBinaryPath, jaegerBinaryReady } from "../tracing/jaeger-paths.ts";

function ensureJaegerBinary(): void {
  if (jaegerBinaryReady()) return;
  console.log(`[prepare] building Jaeger ${JAEGER_VERSION} into ${jaegerBinaryPath()} (tracing backend for tests); the first build takes minutes`);
  const r = spawnSync("bash", [BUILD_SCRIPT], { stdio: "inherit", env: { ...process.env, JAEGER_VERSION } });
  if (r.status !== 0) console.warn("[prepare] Jaeger build failed; the tracing tests will fail");
}

ensureJaegerBinary();
