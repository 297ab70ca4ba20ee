// Where the Prometheus build lives and whether it is done (test/prometheus/build.sh builds it
// once per version into the cache), and its image for the test node and the chart.
import { existsSync, readFileSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheRoot } from "../cluster/binaries.ts";
import { parseEnvFile } from "../conformance/paths.ts";
import { buildOutsideImages } from "../../images/build-outside.ts";
import { prometheusSpec, type OutsideImageSpec } from "../../images/specs-outside.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
export const PROMETHEUS_BUILD_SCRIPT = join(HERE, "build.sh");

const versions = parseEnvFile(readFileSync(join(HERE, "versions.env"), "utf8"));
function version(key: string): string {
  const v = versions.get(key);
  if (v === undefined || v === "") throw new Error(`test/prometheus/versions.env has no ${key}`);
  return v;
}

/** The Go module version (v0.316.0 is Prometheus 3.16.0). */
export const PROMETHEUS_VERSION = version("PROMETHEUS_VERSION");
export const PROMETHEUS_RELEASE = version("PROMETHEUS_RELEASE");
/** The reference the chart's prometheus.image names by default; imported under it, nothing is pulled. */
export const PROMETHEUS_IMAGE = version("PROMETHEUS_IMAGE");

export const prometheusDir = (): string => join(cacheRoot(), "prometheus", PROMETHEUS_VERSION);
export const prometheusBinary = (): string => join(prometheusDir(), "bin", "prometheus");
export const prometheusBuilt = (): boolean => existsSync(join(prometheusDir(), ".complete"));

export function prometheusImageSpecs(): OutsideImageSpec[] {
  return [prometheusSpec(PROMETHEUS_IMAGE, prometheusBinary())];
}

/** The image archive for `ctr images import`, built on first use from the cached binary. */
export function prometheusImageArchive(): string {
  if (!prometheusBuilt()) throw new Error(`Prometheus is not built (run bash ${PROMETHEUS_BUILD_SCRIPT})`);
  const st = statSync(prometheusBinary());
  const hash = createHash("sha256").update(JSON.stringify(prometheusImageSpecs())).update(`${st.size} ${st.mtimeMs}`).digest("hex").slice(0, 16);
  const archive = join(cacheRoot(), "images", `prometheus-${hash}.tar`);
  if (!existsSync(archive)) buildOutsideImages(prometheusImageSpecs(), archive);
  return archive;
}
