// Builds container images without a registry or Docker: an OCI image layout (one gzip
// layer, a config, a manifest, an index naming the image) packed as a tar, which
// `ctr images import` accepts. Enough for static binaries such as Debian's busybox-static.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";

export interface ImageFile {
  /** Path inside the image, absolute. */
  path: string;
  /** Host file to copy, or literal content. */
  from?: string;
  content?: string;
  mode?: number;
  /** Make a symlink to this target instead of a file. */
  symlinkTo?: string;
}

export interface ImageSpec {
  /** Full reference, e.g. weft.test/busybox:1 (a dotted domain keeps it un-prefixed). */
  name: string;
  files: ImageFile[];
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
}

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Writes `outTar`, an OCI layout archive holding one image, and returns its path. */
export function buildOciImage(spec: ImageSpec, outTar: string): string {
  const work = mkdtempSync(join(tmpdir(), "weft-image-"));
  try {
    const rootfs = join(work, "rootfs");
    mkdirSync(rootfs);
    for (const dir of ["tmp", "etc", "proc", "sys", "dev"]) mkdirSync(join(rootfs, dir), { recursive: true });
    chmodSync(join(rootfs, "tmp"), 0o1777);
    writeFileSync(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
    writeFileSync(join(rootfs, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
    for (const f of spec.files) {
      const target = join(rootfs, f.path);
      mkdirSync(dirname(target), { recursive: true });
      if (f.symlinkTo !== undefined) symlinkSync(f.symlinkTo, target);
      else if (f.from !== undefined) copyFileSync(f.from, target);
      else writeFileSync(target, f.content ?? "");
      if (f.symlinkTo === undefined && f.mode !== undefined) chmodSync(target, f.mode);
    }
    // Fixed owner and times keep the layer digest stable across builds.
    const layerTar = execFileSync("tar", ["-C", rootfs, "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "--sort=name", "-cf", "-", "."], {
      maxBuffer: 512 * 1024 * 1024,
    });
    const layer = gzipSync(layerTar);
    const layout = join(work, "layout");
    const blobs = join(layout, "blobs", "sha256");
    mkdirSync(blobs, { recursive: true });
    const blob = (data: Buffer | string): { digest: string; size: number } => {
      const hex = sha256(data);
      writeFileSync(join(blobs, hex), data);
      return { digest: `sha256:${hex}`, size: Buffer.byteLength(data) };
    };
    const layerBlob = blob(layer);
    const config = JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Entrypoint: spec.entrypoint, Cmd: spec.cmd, Env: spec.env ?? ["PATH=/bin:/usr/bin:/sbin:/usr/sbin"], WorkingDir: "/" },
      rootfs: { type: "layers", diff_ids: [`sha256:${sha256(layerTar)}`] },
      history: [{ created_by: "weft test/cluster/oci-image.ts" }],
    });
    const configBlob = blob(config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...configBlob },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layerBlob }],
    });
    const manifestBlob = blob(manifest);
    writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    writeFileSync(
      join(layout, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            ...manifestBlob,
            platform: { architecture: "amd64", os: "linux" },
            annotations: { "io.containerd.image.name": spec.name, "org.opencontainers.image.ref.name": spec.name.split(":").pop() },
          },
        ],
      }),
    );
    mkdirSync(dirname(outTar), { recursive: true });
    execFileSync("tar", ["-C", layout, "-cf", `${outTar}.tmp`, "."]);
    renameSync(`${outTar}.tmp`, outTar);
    return outTar;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Sanity check used by tests: the archive's index names the image. */
export function imageNameIn(tarPath: string): string | undefined {
  const index = JSON.parse(execFileSync("tar", ["-xOf", tarPath, "./index.json"]).toString()) as {
    manifests: { annotations?: Record<string, string> }[];
  };
  return index.manifests[0]?.annotations?.["io.containerd.image.name"];
}
