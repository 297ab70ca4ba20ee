// Where the Gateway API conformance run's outside components live and whether they are
// built. The builds are test/conformance/build.sh; versions are in versions.env beside
// it and, for the Gateway API release, in the chart (charts/weft/files/gateway-api/VERSION).
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheRoot } from "../cluster/binaries.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..");

export const BUILD_SCRIPT = join(HERE, "build.sh");
/** The chart's vendored copy of the release's standard-channel CRDs (scripts/update-gateway-api-crds.sh). */
export const GATEWAY_API_CRD_DIR = join(ROOT, "charts", "weft", "files", "gateway-api");

/** KEY=VALUE lines of a shell-sourceable file; comments and blank lines skipped. */
export function parseEnvFile(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m?.[1] || m[2] === undefined) throw new Error(`versions.env: not KEY=VALUE: ${line}`);
    values.set(m[1], m[2]);
  }
  return values;
}

const versions = parseEnvFile(readFileSync(join(HERE, "versions.env"), "utf8"));
function version(key: string): string {
  const v = versions.get(key);
  if (v === undefined || v === "") throw new Error(`versions.env has no ${key}`);
  return v;
}

export const GATEWAY_API_VERSION = readFileSync(join(GATEWAY_API_CRD_DIR, "VERSION"), "utf8").trim();
export const ISTIO_VERSION = version("ISTIO_VERSION");
export const ECHO_ADVANCED_IMAGE = version("ECHO_ADVANCED_IMAGE");
export const COREDNS_VERSION = version("COREDNS_VERSION");
export const COREDNS_IMAGE = version("COREDNS_IMAGE");

export type Component = "suite" | "echo" | "coredns";
export const COMPONENTS: readonly Component[] = ["suite", "echo", "coredns"];

/** The version folder of one component in the cache. */
export function componentDir(component: Component): string {
  switch (component) {
    case "suite":
      return join(cacheRoot(), "gateway-api", GATEWAY_API_VERSION);
    case "echo":
      return join(cacheRoot(), "istio-echo", ISTIO_VERSION);
    case "coredns":
      return join(cacheRoot(), "coredns", COREDNS_VERSION);
  }
}

/** TestMesh, the suite binary's only test; build.sh compiles it in the wrapper module. */
export const SUITE_WRAPPER_TEST = join(HERE, "suite", "mesh_test.go");

/** A stamp marks a finished build; the suite's holds its wrapper test's hash, so an edit to that test rebuilds it. */
export function componentBuilt(component: Component): boolean {
  const stamp = join(componentDir(component), ".complete");
  if (!existsSync(stamp)) return false;
  if (component !== "suite") return true;
  return readFileSync(stamp, "utf8").trim() === createHash("sha256").update(readFileSync(SUITE_WRAPPER_TEST)).digest("hex").slice(0, 16);
}

/** The compiled suite: `conformance.test -test.run TestMesh [-report-output FILE ...]`. */
export const conformanceTestBinary = (): string => join(componentDir("suite"), "bin", "conformance.test");
/** The suite's own mesh manifests (what it applies), copied from the module beside the binary. */
export const meshManifestsPath = (): string => join(componentDir("suite"), "mesh-manifests.yaml");

export interface EchoFiles {
  server: string;
  client: string;
  cert: string;
  key: string;
}

export function echoFiles(): EchoFiles {
  const dir = componentDir("echo");
  return { server: join(dir, "bin", "server"), client: join(dir, "bin", "client"), cert: join(dir, "cert.crt"), key: join(dir, "cert.key") };
}

export const corednsBinary = (): string => join(componentDir("coredns"), "bin", "coredns");
