// The conformance run's images, packed from the cached builds with the project's own
// image builder (images/specs-outside.ts) into one archive for the test node's
// containerd: the suite's echo-advanced image under the very name its manifests give
// (imagePullPolicy IfNotPresent finds it imported, so nothing is pulled), and CoreDNS.
// The archive is cached by what went into it; building it again costs nothing.
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { cacheRoot } from "../cluster/binaries.ts";
import { buildOutsideImages } from "../../images/build-outside.ts";
import { corednsSpec, echoAdvancedSpec, type OutsideImageSpec } from "../../images/specs-outside.ts";
import { COREDNS_IMAGE, ECHO_ADVANCED_IMAGE, componentBuilt, corednsBinary, echoFiles } from "./paths.ts";

export function conformanceImageSpecs(): OutsideImageSpec[] {
  return [echoAdvancedSpec(ECHO_ADVANCED_IMAGE, echoFiles()), corednsSpec(COREDNS_IMAGE, corednsBinary())];
}

/** The archive's path, built on first use; throws when the binaries are not built (test/conformance/build.sh). */
export function conformanceImageArchive(): string {
  const missing = (["echo", "coredns"] as const).filter((c) => !componentBuilt(c));
  if (missing.length > 0) throw new Error(`not built: ${missing.join(", ")} (run bash test/conformance/build.sh ${missing.join(" ")})`);
  const inputs = [...Object.values(echoFiles()), corednsBinary()];
  const hash = createHash("sha256").update(JSON.stringify(conformanceImageSpecs()));
  for (const path of inputs) {
    const st = statSync(path);
    hash.update(`${path} ${st.size} ${st.mtimeMs}\n`);
  }
  const archive = join(cacheRoot(), "images", `conformance-${hash.digest("hex").slice(0, 16)}.tar`);
  if (!existsSync(archive)) buildOutsideImages(conformanceImageSpecs(), archive);
  return archive;
}
