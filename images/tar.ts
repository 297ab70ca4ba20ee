// A minimal, deterministic tar writer (POSIX ustar, with a pax record for names
// too long for ustar). Every header field that could vary between builds (time,
// owner names, device numbers) is fixed, so equal entries give equal bytes.
// Entries are written in the order given; callers sort them.

export type TarEntry =
  | { type: "file"; path: string; mode: number; data: Buffer; uid?: number; gid?: number }
  | { type: "dir"; path: string; mode: number; uid?: number; gid?: number }
  | { type: "symlink"; path: string; target: string };

const BLOCK = 512;
/** Fixed modification time of every entry: the image's content, not the build's clock, decides its digest. */
export const FIXED_MTIME = 0;

function octal(value: number, width: number): string {
  // width includes the terminating NUL
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

function header(name: string, size: number, typeflag: string, mode: number, uid: number, gid: number, linkname = ""): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  h.write(name, 0, 100, "utf8");
  h.write(octal(mode & 0o7777, 8), 100, "ascii");
  h.write(octal(uid, 8), 108, "ascii");
  h.write(octal(gid, 8), 116, "ascii");
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(FIXED_MTIME, 12), 136, "ascii");
  h.write("        ", 148, "ascii"); // checksum is computed with this field as spaces
  h.write(typeflag, 156, "ascii");
  h.write(linkname, 157, 100, "utf8");
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  h.write(octal(0, 8), 329, "ascii"); // devmajor
  h.write(octal(0, 8), 337, "ascii"); // devminor
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + " ", 148, "ascii");
  return h;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest, 0);
}

// A pax record is "<len> <key>=<value>\n" where len counts the whole record, itself included.
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
  return `${len}${body}`;
}

function fits(name: string): boolean {
  return Buffer.byteLength(name) <= 100;
}

/** Serialises the entries as one tar archive (with its two zero end blocks). */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const chunks: Buffer[] = [];
  for (const e of entries) {
    const name = e.type === "dir" && !e.path.endsWith("/") ? `${e.path}/` : e.path;
    const linkname = e.type === "symlink" ? e.target : "";
    const pax: string[] = [];
    if (!fits(name)) pax.push(paxRecord("path", name));
    if (!fits(linkname)) pax.push(paxRecord("linkpath", linkname));
    if (pax.length > 0) {
      const data = Buffer.from(pax.join(""), "utf8");
      chunks.push(header("PaxHeader", data.length, "x", 0o644, 0, 0), data, padding(data.length));
    }
    const shortName = fits(name) ? name : name.slice(0, 99);
    const shortLink = fits(linkname) ? linkname : "";
    if (e.type === "file") {
      chunks.push(header(shortName, e.data.length, "0", e.mode, e.uid ?? 0, e.gid ?? 0), e.data, padding(e.data.length));
    } else if (e.type === "dir") {
      chunks.push(header(shortName, 0, "5", e.mode, e.uid ?? 0, e.gid ?? 0));
    } else {
      chunks.push(header(shortName, 0, "2", 0o777, 0, 0, shortLink));
    }
  }
  chunks.push(Buffer.alloc(BLOCK * 2, 0));
  return Buffer.concat(chunks);
}
