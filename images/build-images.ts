// Builds every image of images/specs.ts into one OCI layout and tars that layout
// for `ctr images import`. Each layer is built once and shared by the images
// that list it.
import { writeFileSync } from "node:fs";
import { OciLayout, type Layer } from "./oci-layout.ts";
import { LayerFiles } from "./rootfs.ts";
import { imageSpecs, layerSpecs } from "./specs.ts";
import { writeTar } from "./tar.ts";

export interface ImageReport {
  reference: string;
  digest: string;
  compressedBytes: number;
  uncompressedBytes: number;
  layers: { name: string; digest: string; compressedBytes: number; uncompressedBytes: number }[];
}

export interface BuildResult {
  images: ImageReport[];
  /** Compressed bytes of all distinct layers: what one node stores for every image. */
  distinctCompressedBytes: number;
}

export interface BuildOptions {
  root: string;
  layoutDir: string;
  tag: string;
  /** Also write the layout as one tar archive here. */
  archive?: string;
}

export function buildImages(options: BuildOptions): BuildResult {
  const layout = new OciLayout(options.layoutDir);
  const layers = new Map<string, Layer>();
  const specs = imageSpecs();
  const needed = new Set(specs.flatMap((s) => s.layers));
  for (const spec of layerSpecs(options.root)) {
    if (needed.has(spec.name)) layers.set(spec.name, layout.layer(spec.name, spec.files().sorted()));
  }
  for (const spec of specs) {
    const imageLayers = spec.layers.map((name) => {
      const layer = layers.get(name);
      if (layer === undefined) throw new Error(`image ${spec.name}: unknown layer ${name}`);
      return layer;
    });
    layout.image(`${spec.registry}/${spec.name}:${options.tag}`, imageLayers, spec.config);
  }
  const built = layout.finish();
  if (options.archive !== undefined) writeFileSync(options.archive, writeTar(new LayerFiles().tree(options.layoutDir, ".").sorted().filter((e) => e.path !== ".")));
  return {
    images: built.map((i) => ({
      reference: i.reference,
      digest: i.manifest.digest,
      compressedBytes: i.compressedSize,
      uncompressedBytes: i.uncompressedSize,
      layers: i.layers.map((l) => ({ name: l.name, digest: l.descriptor.digest, compressedBytes: l.descriptor.size, uncompressedBytes: l.uncompressedSize })),
    })),
    distinctCompressedBytes: [...layers.values()].reduce((n, l) => n + l.descriptor.size, 0),
  };
}

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

export function formatReport(result: BuildResult): string {
  const lines = result.images.map(
    (i) => `${i.reference.padEnd(48)} ${mb(i.compressedBytes).padStart(9)} compressed ${mb(i.uncompressedBytes).padStart(9)} unpacked  ${i.digest.slice(0, 19)}`,
  );
  const layers = new Map(result.images.flatMap((i) => i.layers.map((l) => [l.name, l] as const)));
  for (const l of layers.values()) lines.push(`  layer ${l.name.padEnd(10)} ${mb(l.compressedBytes).padStart(9)} compressed ${mb(l.uncompressedBytes).padStart(9)} unpacked`);
  lines.push(`all images on one node: ${mb(result.distinctCompressedBytes)} compressed (layers are shared)`);
  return lines.join("\n");
}
