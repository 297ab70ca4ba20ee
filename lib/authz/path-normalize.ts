// The path an app may take a request path to mean, for authorization only.
// Apps and their frameworks resolve "..", decode %-escapes and merge slashes
// before routing, so a DENY on /admin/ matched against the path as sent
// would miss /x/../admin/, /%61dmin/, //admin/ or /admin%2Fkeys. The proxy
// forwards the path unchanged (rewriting it could break an app that relies
// on its exact bytes) and instead decides on both readings: a request is
// allowed only when the path as sent and its normal form are both allowed
// (evaluateRequest in evaluate-request.ts).

const HEX = "0123456789ABCDEF";

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** True when the path has nothing normalization would change: the common case costs one scan. */
export function isNormalPath(path: string): boolean {
  let prev = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    // '%', '\\', a "//" pair, or a '.' right after '/' (a possible dot segment).
    if (c === 37 || c === 92 || (c === 47 && prev === 47) || (c === 46 && prev === 47)) return false;
    prev = c;
  }
  return true;
}

/**
 * The normal form: %-escapes decoded where they stand for a character that is
 * not a control character (an escaped "/" or "\" included, as many apps decode
 * them), backslashes read as slashes, runs of slashes merged, and "." and ".."
 * segments resolved (RFC 3986 §5.2.4). Escapes that stay (control characters,
 * "%", invalid ones) are upper-cased. Query strings are not part of `path`.
 */
export function normalizePath(path: string): string {
  if (isNormalPath(path)) return path;
  let decoded = "";
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 && i + 2 < path.length) {
      const hi = hexValue(path.charCodeAt(i + 1));
      const lo = hexValue(path.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        const byte = hi * 16 + lo;
        // "%25" stays escaped: decoding it would make a new escape out of what follows.
        if (byte >= 0x20 && byte < 0x7f && byte !== 0x25) decoded += byte === 0x5c ? "/" : String.fromCharCode(byte);
        else decoded += `%${HEX[hi]}${HEX[lo]}`;
        i += 2;
        continue;
      }
    }
    decoded += c === 92 ? "/" : path[i];
  }
  const segments = decoded.split("/");
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as string;
    const last = i === segments.length - 1;
    if (s === "." || s === "..") {
      if (s === ".." && out.length > 0) out.pop();
      // A trailing "." or ".." leaves a directory path: "/a/b/.." is "/a/".
      if (last) out.push("");
      continue;
    }
    // Empty segments are merged slashes, except the one that keeps a trailing slash.
    if (s === "" && !last) continue;
    out.push(s);
  }
  return `/${out.join("/")}`;
}
