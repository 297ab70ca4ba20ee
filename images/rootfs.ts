// Collects the files of one image layer from the host: single files (symlinks
// dereferenced), dynamic executables with exactly the libraries `ldd` names,
// and whole trees. Paths inside the layer are relative ("usr/bin/node"); parent
// folders are added automatically; the result is sorted so the tar is stable.
import { execFileSync } from "node:child_process";
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import type { TarEntry } from "./tar.ts";

export class LayerFiles {
  private entries = new Map<string, TarEntry>();

  private parents(path: string): void {
    let dir = posix.dirname(path);
    while (dir !== "." && dir !== "/" && !this.entries.has(dir)) {
      this.entries.set(dir, { type: "dir", path: dir, mode: 0o755 });
      dir = posix.dirname(dir);
    }
  }

  private put(entry: TarEntry): void {
    const path = entry.path.replace(/^\/+/, "");
    this.parents(path);
    this.entries.set(path, { ...entry, path });
  }

  dir(path: string, mode = 0o755): this {
    this.put({ type: "dir", path, mode });
    return this;
  }

  content(path: string, data: string | Buffer, mode = 0o644): this {
    this.put({ type: "file", path, mode, data: Buffer.from(data) });
    return this;
  }

  symlink(path: string, target: string): this {
    this.put({ type: "symlink", path, target });
    return this;
  }

  /** Copies a host file, following symlinks; keeps only the executable bits of its mode. */
  hostFile(hostPath: string, path = hostPath): this {
    const executable = (statSync(hostPath).mode & 0o111) !== 0;
    return this.content(path, readFileSync(hostPath), executable ? 0o755 : 0o644);
  }

  /** A dynamically linked executable and every library `ldd` resolves for it, at their host paths. */
  executable(hostPath: string, path = hostPath): this {
    this.hostFile(hostPath, path);
    for (const lib of sharedLibraries(hostPath)) this.hostFile(lib);
    return this;
  }

  /** A host folder, recursively; `skip` is called with paths relative to hostDir. Symlinks stay symlinks. */
  tree(hostDir: string, path: string, skip: (relative: string) => boolean = () => false): this {
    const walk = (rel: string): void => {
      for (const name of readdirSync(join(hostDir, rel)).sort()) {
        const r = rel === "" ? name : `${rel}/${name}`;
        if (skip(r)) continue;
        const host = join(hostDir, r);
        const st = lstatSync(host);
        const inImage = posix.join(path, r);
        if (st.isSymbolicLink()) this.symlink(inImage, readlinkSync(host));
        else if (st.isDirectory()) {
          this.dir(inImage);
          walk(r);
        } else if (st.isFile()) this.content(inImage, readFileSync(host), (st.mode & 0o111) !== 0 ? 0o755 : 0o644);
      }
    };
    this.dir(path);
    walk("");
    return this;
  }

  /** Entries in byte order of their paths, as the tar writer wants them. */
  sorted(): TarEntry[] {
    return [...this.entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  get size(): number {
    let total = 0;
    for (const e of this.entries.values()) if (e.type === "file") total += e.data.length;
    return total;
  }
}

/** Library paths `ldd` prints for a dynamic executable (the loader included); none for a static one. */
export function sharedLibraries(hostPath: string): string[] {
  let out: string;
  try {
    out = execFileSync("ldd", [hostPath], { encoding: "utf8" });
  } catch {
    return []; // "not a dynamic executable"
  }
  const libs = new Set<string>();
  for (const line of out.split("\n")) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.add(m[1]);
  }
  return [...libs].sort();
}
