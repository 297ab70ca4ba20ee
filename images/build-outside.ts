// Builds the images of images/specs-outside.ts into one OCI layout and tars it for
// `ctr images import` (images/import.ts importImages), as build-images.ts does for
// Weft's own images.
import { mkdtempSync, rmSync, renameSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { OciLayout } from "./oci-layout.ts";
import { LayerFiles } from "./rootfs.ts";
import type { OutsideImageSpec } from "./specs-outside.ts";
import { writeTar } from "./tar.ts";

export interface OutsideImageReport {
  reference: string;
  digest: string;
  compressedBytes: number;
  uncompressedBytes: number;
}

/** Writes `archive` (renamed into place when complete) holding every image of `specs`. */
export function buildOutsideImages(specs: readonly OutsideImageSpec[], archive: string): OutsideImageReport[] {
  const work = mkdtempSync(join(tmpdir(), "weft-outside-images-"));
  try {
    const layoutDir = join(work, "oci");
    const layout = new OciLayout(layoutDir);
    for (const spec of specs) layout.image(spec.reference, [layout.layer(spec.layer, spec.files().sorted())], spec.config);
    const built = layout.finish();
    mkdirSync(dirname(archive), { recursive: true });
    writeFileSync(`${archive}.tmp`, writeTar(new LayerFiles().tree(layoutDir, ".").sorted().filter((e) => e.path !== ".")));
    renameSync(`${archive}.tmp`, archive);
    return built.map((i) => ({ reference: i.reference, digest: i.manifest.digest, compressedBytes: i.compressedSize, uncompressedBytes: i.uncompressedSize }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
