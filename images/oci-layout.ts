// Writes OCI image layouts: content-addressed blobs (gzip layers, configs,
// manifests) and an index.json naming each image, as a registry or
// `ctr images import` reads them. Nothing here looks at the clock, so the same
// layers give the same digests on every build.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { constants, gzipSync } from "node:zlib";
import { writeTar, type TarEntry } from "./tar.ts";

/** Fixed, so that a different zlib default can never change a digest. */
export const GZIP_LEVEL = 9;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

export interface Layer {
  /** What it holds, for history and reports. */
  name: string;
  descriptor: Descriptor;
  /** Digest of the uncompressed tar (the config's diff_id). */
  diffId: string;
  uncompressedSize: number;
}

export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
  labels?: Record<string, string>;
}

export interface BuiltImage {
  reference: string;
  manifest: Descriptor;
  layers: Layer[];
  /** Bytes a registry or node downloads (compressed layers, config, manifest). */
  compressedSize: number;
  uncompressedSize: number;
}

export const MEDIA = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
  index: "application/vnd.oci.image.index.v1+json",
} as const;

const sha256 = (data: Buffer): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;

export class OciLayout {
  readonly dir: string;
  private images: BuiltImage[] = [];

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  }

  private blob(data: Buffer): { digest: string; size: number } {
    const digest = sha256(data);
    const path = join(this.dir, "blobs", "sha256", digest.slice("sha256:".length));
    if (!existsSync(path)) writeFileSync(path, data);
    return { digest, size: data.length };
  }

  /** Tars, compresses and stores one layer. */
  layer(name: string, entries: readonly TarEntry[]): Layer {
    const tar = writeTar(entries);
    // Node's gzip header carries mtime 0 and no file name, so it adds nothing variable.
    const gz = gzipSync(tar, { level: GZIP_LEVEL, strategy: constants.Z_DEFAULT_STRATEGY });
    return { name, descriptor: { mediaType: MEDIA.layer, ...this.blob(gz) }, diffId: sha256(tar), uncompressedSize: tar.length };
  }

  image(reference: string, layers: Layer[], config: ImageConfig): BuiltImage {
    const configJson = {
      architecture: "amd64",
      os: "linux",
      config: {
        Entrypoint: config.entrypoint,
        Cmd: config.cmd,
        Env: config.env,
        User: config.user,
        WorkingDir: config.workingDir ?? "/",
        Labels: config.labels,
      },
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((l) => ({ created_by: `weft images/build.ts: ${l.name}` })),
    };
    const configBlob = { mediaType: MEDIA.config, ...this.blob(Buffer.from(JSON.stringify(configJson))) };
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: configBlob,
      layers: layers.map((l) => l.descriptor),
      annotations: { "org.opencontainers.image.title": reference },
    };
    const manifestBlob = this.blob(Buffer.from(JSON.stringify(manifest)));
    const built: BuiltImage = {
      reference,
      manifest: {
        mediaType: MEDIA.manifest,
        ...manifestBlob,
        platform: { architecture: "amd64", os: "linux" },
        annotations: { "io.containerd.image.name": reference, "org.opencontainers.image.ref.name": reference },
      },
      layers,
      compressedSize: manifestBlob.size + configBlob.size + layers.reduce((n, l) => n + l.descriptor.size, 0),
      uncompressedSize: layers.reduce((n, l) => n + l.uncompressedSize, 0),
    };
    this.images.push(built);
    return built;
  }

  /** Writes oci-layout and index.json; call after the last image. */
  finish(): BuiltImage[] {
    writeFileSync(join(this.dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    const index = { schemaVersion: 2, mediaType: MEDIA.index, manifests: this.images.map((i) => i.manifest) };
    writeFileSync(join(this.dir, "index.json"), JSON.stringify(index, null, 2) + "\n");
    return this.images;
  }
}
